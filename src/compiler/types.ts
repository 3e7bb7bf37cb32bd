/** The public shapes of the compiler: options, results, manifest, diagnostics. */

export interface TransformOptions {
  /** Path of the module being compiled (absolute, or relative to `root`). Used for ids and messages. */
  filename: string;
  /** The package root that function ids are relative to. @default the nearest folder with a package.json */
  root?: string;
  /** Also strip TypeScript syntax (when the input is TypeScript). @default true for .ts/.tsx/.mts/.cts */
  stripTypes?: boolean;
  /** Emit a source map: `true` returns it in `map`, `"inline"` appends it to the code. @default true */
  sourceMaps?: boolean | "inline";
  /** A source map of the input (when the input is itself generated), composed into the output map. */
  inputSourceMap?: object;
  /** Keep the original function in each descriptor (`native`), for differential tests. @default false */
  keepNative?: boolean;
  /** Module specifiers whose `dasync` export marks d-async functions. @default ["dtasks"] */
  runtimeModules?: string[];
}

export interface SuspensionPointManifest {
  /** The state the frame resumes at. */
  state: number;
  loc: string;
  src: string;
  live: string[];
}

export interface FunctionManifest {
  id: string;
  name: string;
  version: string;
  loc: string;
  suspensionPoints: SuspensionPointManifest[];
}

/** What one module defines, for tools, preloading and deploy checks. */
export interface ModuleManifest {
  /** Module path relative to the package root. */
  file: string;
  functions: FunctionManifest[];
}

export interface CompilerWarning {
  code: string;
  message: string;
  loc: string;
}

export interface TransformResult {
  code: string;
  map: object | null;
  manifest: ModuleManifest;
  warnings: CompilerWarning[];
  /** False when the module defines no d-async function (the code is then only type-stripped, if asked). */
  changed: boolean;
}
