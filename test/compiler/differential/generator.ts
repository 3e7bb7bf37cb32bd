/**
 * Random d-async programs for the differential suite.
 *
 * fast-check generates a context-free tree (statements and expressions, each a small tagged
 * record); the printer then turns it into a program while tracking the context, so that every
 * subtree prints as valid, terminating, deterministic code wherever shrinking moves it:
 * - `break`/`continue` print only where a matching target encloses them (else nothing);
 * - every loop is bounded (counters the body cannot write, `guard()` in every body), and so is
 *   recursion (`guard()` on entry);
 * - no binding is read before its declaration (no TDZ), no `const` is written;
 * - a durable wait (or a call of a child that may suspend) is printed only where nothing
 *   unstorable is live: not inside a loop over a non-array iterator, not while a closure is held,
 *   not inside a nested (non-d-async) function, not in an array-pattern default while the
 *   pattern's iterator is open, not in the arguments of a fresh closure. Elsewhere it degrades to
 *   an ordinary await. Nested plain functions await no DTask at all (DT202).
 * - nothing depends on time or randomness; V8's own error messages (which quote source text) are
 *   never provoked: only explicit throws and rejections.
 *
 * Coverage: if/else; for (also without a test, with two bindings, awaiting test or update),
 * for-var, for-in (with deletion), for-of over arrays (re-reading the length) and over iterators
 * (also ones whose next() or return() throws), Maps, Sets and generators; for await over arrays,
 * mixed promise arrays, async generators and async iterators; while; do-while; labelled loops,
 * blocks and switches with labelled break/continue; switch with fall-through, default anywhere
 * and awaits in case tests; try/catch/finally in every combination, optional catch binding,
 * return/break/continue crossing and overriding finally, awaits in catch and finally, try blocks
 * that end by throwing; throw of errors (with cause) and non-errors; ordinary awaits (microtask,
 * macrotask, thenable, plain value, rejecting now or later, completed DTasks); durable waits
 * (delay, yield, failing delay) as statements and inside expressions; awaits in every expression
 * position (binary and unary operands, call and method call arguments, computed method names,
 * `new`, member access, `in`, `delete`, optional chaining and chains of optional calls,
 * `&&`/`||`/`??`, logical and compound assignment and `++`/`--` on locals, members, a module-level
 * object and an accessor property that logs, conditional, template and tagged template (also a
 * method as tag), spread, array/object literals with holes, spread and computed keys, sequence);
 * destructuring with defaults (array, object, nested, rest, from iterators, swaps); block-scoped
 * shadowing; per-iteration `let` captured by closures (also called in the next iteration, after
 * the body wrote the binding); closures sharing locals; nested async closures; nested function
 * declarations; rest and default parameters (also destructured); child d-async calls
 * (`res.push(await c(i))`, `h2(await c(i))`, `calc.m(await c(i))`, chains of children, children
 * that throw or suspend, an arrow child, a pinned id, a child writing through an object shared
 * with its caller) and recursion by name; Map, Set, Date, BigInt, undefined, NaN, -0, nested
 * objects, cycles and shared references kept live across durable waits.
 *
 * @module
 */
import fc from "fast-check";
import { PRELUDE } from "./env.js";

// ---------------------------------------------------------------------------------------------
// The tree

export type Expr =
  | { t: "num"; v: number }
  | { t: "var"; i: number }
  | { t: "bin"; op: number; l: Expr; r: Expr }
  | { t: "cond"; c: Expr; l: Expr; r: Expr }
  | { t: "logic"; op: number; l: Expr; r: Expr }
  | { t: "await"; k: number; e: Expr }
  | { t: "durable"; k: number; e: Expr }
  | { t: "child"; c: number; args: Expr[] }
  | { t: "call"; k: number; l: Expr; r: Expr }
  | { t: "member"; k: number; e: Expr }
  | { t: "opt"; k: number; l: Expr; r: Expr }
  | { t: "lit"; k: number; l: Expr; r: Expr }
  | { t: "tmpl"; k: number; l: Expr; r: Expr }
  | { t: "assign"; op: number; target: number; key: Expr; e: Expr }
  | { t: "seq"; l: Expr; r: Expr }
  | { t: "closure"; k: number; e: Expr; body: Expr }
  | { t: "hoisted"; e: Expr }
  | { t: "unary"; k: number; e: Expr }
  | { t: "update"; k: number; target: number; key: Expr }
  | { t: "misc"; k: number; l: Expr; r: Expr };

export type Stmt =
  | { t: "log"; e: Expr }
  | { t: "set"; op: number; target: number; key: Expr; e: Expr }
  | { t: "if"; k: number; c: Expr; th: Stmt[]; el: Stmt[] | null }
  | { t: "loop"; k: number; n: number; label: boolean; e1: Expr; e2: Expr; body: Stmt[] }
  | {
      t: "switch";
      d: Expr;
      label: boolean;
      def: number;
      clauses: { tk: number; brk: boolean; body: Stmt[] }[];
    }
  | { t: "try"; k: number; thr: number; body: Stmt[]; handler: Stmt[]; fin: Stmt[] }
  | { t: "throw"; k: number; e: Expr }
  | { t: "return"; e: Expr }
  | { t: "break"; lbl: number }
  | { t: "continue"; lbl: number }
  | { t: "durable"; k: number }
  | { t: "wait"; k: number; e: Expr }
  | { t: "block"; k: number; e: Expr; body: Stmt[] }
  | { t: "labelled"; body: Stmt[] }
  | { t: "destr"; k: number; n: number; a: Expr; b: Expr }
  | { t: "child"; k: number; c: number; e: Expr; e2: Expr }
  | { t: "values"; k: number; e: Expr }
  | { t: "logErr"; i: number }
  | { t: "closure"; k: number; n: number; e: Expr; body: Stmt[] };

export interface ChildTree {
  params: number;
  arrow: boolean;
  pinned: boolean;
  body: Stmt[];
  ret: Expr;
}

export interface RecTree {
  fib: boolean;
  durableAtBase: boolean;
  durableAfter: boolean;
  n: number;
}

export interface ProgramTree {
  /** Whether nested functions may be printed (else their nodes print without them). */
  closures: boolean;
  /** Constructs printed in a simpler form (see GeneratorOptions.avoid). */
  avoid: Avoidable[];
  children: ChildTree[];
  rec: RecTree | null;
  body: Stmt[];
  ret: Expr;
  args: number[];
  dump: boolean[];
}

// ---------------------------------------------------------------------------------------------
// Arbitraries

const small = fc.integer({ min: 0, max: 9 });
const count = fc.integer({ min: 0, max: 3 });
const pick = fc.nat({ max: 1000 });

export interface GeneratorOptions {
  /** Maximum nesting of statements. @default 4 */
  stmtDepth?: number;
  /** Maximum nesting of expressions. @default 3 */
  exprDepth?: number;
  /** Maximum statements per block. @default 4 */
  blockLength?: number;
  /** Maximum number of child d-async functions. @default 3 */
  children?: number;
  /** Relative weight of try statements among statements (about 70 in all). @default 5 */
  tryWeight?: number;
  /** Whether programs create closures (nested functions). @default true */
  closures?: boolean;
  /**
   * Constructs to leave out, to look past known compiler bugs while exploring (never in the
   * default run). @default the comma-separated list in DTASKS_GEN_AVOID, else none
   */
  avoid?: Avoidable[];
}

/**
 * Families of constructs that can be left out while a known bug in them is being fixed:
 * - `receivers`: method calls on module bindings and globals (`calc.m`, `Math.max`, `Object.keys`,
 *   `DTask.fromResult`) with awaiting arguments;
 * - `array-defaults`: array patterns with several defaults;
 * - `exhausted`: array destructuring that exhausts its iterator;
 * - `finally`: finally clauses;
 * - `iterators`: for-of / for await over iterators other than arrays;
 * - `durable`: durable waits and completed DTasks (programs that never suspend, for the
 *   interleaving suite, where only ordinary awaits have a native counterpart);
 * - `module-targets`: assignments to members of a module-level object (`gm.n += await …`);
 * - `throwing-iterators`: for-of over iterators whose `next()` or `return()` throws.
 */
export type Avoidable =
  | "receivers"
  | "array-defaults"
  | "exhausted"
  | "finally"
  | "iterators"
  | "durable"
  | "module-targets"
  | "throwing-iterators";

export function avoidFromEnvironment(): Avoidable[] {
  return (process.env.DTASKS_GEN_AVOID ?? "")
    .split(",")
    .map((x) => x.trim())
    .filter((x): x is Avoidable => x.length > 0);
}

export function programArbitrary(options: GeneratorOptions = {}): fc.Arbitrary<ProgramTree> {
  const closures = options.closures ?? true;
  const avoid = options.avoid ?? avoidFromEnvironment();
  const stmtDepth = options.stmtDepth ?? 4;
  const exprDepth = options.exprDepth ?? 3;
  const blockLength = options.blockLength ?? 4;
  const maxChildren = options.children ?? 3;
  const tryWeight = options.tryWeight ?? 5;

  const tree = fc.letrec<{ expr: Expr; stmt: Stmt; block: Stmt[] }>((tie) => {
    const expr = tie("expr") as fc.Arbitrary<Expr>;
    const stmt = tie("stmt") as fc.Arbitrary<Stmt>;
    const block = tie("block") as fc.Arbitrary<Stmt[]>;
    const leafExpr: fc.Arbitrary<Expr> = fc.oneof(
      fc.record({ t: fc.constant("num" as const), v: small }),
      fc.record({ t: fc.constant("var" as const), i: pick }),
    );
    const two = <T extends string>(t: T, k: fc.Arbitrary<number>) =>
      fc.record({ t: fc.constant(t), k, l: expr, r: expr });
    return {
      expr: fc.oneof(
        { depthSize: "small", maxDepth: exprDepth, depthIdentifier: "expr", withCrossShrink: true },
        { weight: 6, arbitrary: leafExpr },
        {
          weight: 3,
          arbitrary: fc.record({ t: fc.constant("bin" as const), op: fc.nat({ max: 9 }), l: expr, r: expr }),
        },
        { weight: 1, arbitrary: fc.record({ t: fc.constant("cond" as const), c: expr, l: expr, r: expr }) },
        {
          weight: 2,
          arbitrary: fc.record({
            t: fc.constant("logic" as const),
            op: fc.nat({ max: 2 }),
            l: expr,
            r: expr,
          }),
        },
        {
          weight: 6,
          arbitrary: fc.record({ t: fc.constant("await" as const), k: fc.nat({ max: 100 }), e: expr }),
        },
        {
          weight: 2,
          arbitrary: fc.record({ t: fc.constant("durable" as const), k: fc.nat({ max: 39 }), e: expr }),
        },
        {
          weight: 2,
          arbitrary: fc.record({
            t: fc.constant("child" as const),
            c: pick,
            args: fc.array(expr, { minLength: 1, maxLength: 3 }),
          }),
        },
        { weight: 3, arbitrary: two("call", fc.nat({ max: 8 })) },
        {
          weight: 1,
          arbitrary: fc.record({ t: fc.constant("member" as const), k: fc.nat({ max: 4 }), e: expr }),
        },
        { weight: 2, arbitrary: two("opt", fc.nat({ max: 4 })) },
        { weight: 2, arbitrary: two("lit", fc.nat({ max: 5 })) },
        { weight: 1, arbitrary: two("tmpl", fc.nat({ max: 2 })) },
        {
          weight: 3,
          arbitrary: fc.record({
            t: fc.constant("assign" as const),
            op: fc.nat({ max: 6 }),
            target: pick,
            key: expr,
            e: expr,
          }),
        },
        { weight: 1, arbitrary: fc.record({ t: fc.constant("seq" as const), l: expr, r: expr }) },
        {
          weight: 1,
          arbitrary: fc.record({
            t: fc.constant("closure" as const),
            k: fc.nat({ max: 2 }),
            e: expr,
            body: expr,
          }),
        },
        { weight: 1, arbitrary: fc.record({ t: fc.constant("hoisted" as const), e: expr }) },
        {
          weight: 1,
          arbitrary: fc.record({ t: fc.constant("unary" as const), k: fc.nat({ max: 4 }), e: expr }),
        },
        {
          weight: 1,
          arbitrary: fc.record({
            t: fc.constant("update" as const),
            k: fc.nat({ max: 3 }),
            target: pick,
            key: expr,
          }),
        },
        { weight: 2, arbitrary: two("misc", fc.nat({ max: 4 })) },
      ),
      stmt: fc.oneof(
        { depthSize: "small", maxDepth: stmtDepth, depthIdentifier: "stmt", withCrossShrink: true },
        { weight: 8, arbitrary: fc.record({ t: fc.constant("log" as const), e: expr }) },
        {
          weight: 4,
          arbitrary: fc.record({
            t: fc.constant("set" as const),
            op: fc.nat({ max: 6 }),
            target: pick,
            key: expr,
            e: expr,
          }),
        },
        { weight: 4, arbitrary: fc.record({ t: fc.constant("durable" as const), k: fc.nat({ max: 39 }) }) },
        {
          weight: 3,
          arbitrary: fc.record({ t: fc.constant("wait" as const), k: fc.nat({ max: 100 }), e: expr }),
        },
        { weight: 2, arbitrary: fc.record({ t: fc.constant("break" as const), lbl: fc.nat({ max: 3 }) }) },
        { weight: 2, arbitrary: fc.record({ t: fc.constant("continue" as const), lbl: fc.nat({ max: 3 }) }) },
        {
          weight: 2,
          arbitrary: fc.record({ t: fc.constant("throw" as const), k: fc.nat({ max: 4 }), e: expr }),
        },
        { weight: 1, arbitrary: fc.record({ t: fc.constant("return" as const), e: expr }) },
        {
          weight: 3,
          arbitrary: fc.record({
            t: fc.constant("child" as const),
            k: fc.nat({ max: 3 }),
            c: pick,
            e: expr,
            e2: expr,
          }),
        },
        {
          weight: 3,
          arbitrary: fc.record({ t: fc.constant("values" as const), k: fc.nat({ max: 10 }), e: expr }),
        },
        { weight: 1, arbitrary: fc.record({ t: fc.constant("logErr" as const), i: pick }) },
        {
          weight: 2,
          arbitrary: fc.record({
            t: fc.constant("destr" as const),
            k: fc.nat({ max: 6 }),
            n: count,
            a: expr,
            b: expr,
          }),
        },
        {
          weight: 4,
          arbitrary: fc.record({
            t: fc.constant("if" as const),
            k: fc.nat({ max: 1 }),
            c: expr,
            th: block,
            el: fc.option(block, { nil: null }),
          }),
        },
        {
          weight: 6,
          arbitrary: fc.record({
            t: fc.constant("loop" as const),
            k: fc.nat({ max: 14 }),
            n: count,
            label: fc.boolean(),
            e1: expr,
            e2: expr,
            body: block,
          }),
        },
        {
          weight: 2,
          arbitrary: fc.record({
            t: fc.constant("switch" as const),
            d: expr,
            label: fc.boolean(),
            def: fc.nat({ max: 3 }),
            clauses: fc.array(fc.record({ tk: fc.nat({ max: 5 }), brk: fc.boolean(), body: block }), {
              minLength: 1,
              maxLength: 3,
            }),
          }),
        },
        {
          weight: tryWeight,
          arbitrary: fc.record({
            t: fc.constant("try" as const),
            k: fc.nat({ max: 3 }),
            thr: fc.nat({ max: 5 }),
            body: block,
            handler: block,
            fin: block,
          }),
        },
        {
          weight: 2,
          arbitrary: fc.record({
            t: fc.constant("block" as const),
            k: fc.nat({ max: 3 }),
            e: expr,
            body: block,
          }),
        },
        { weight: 1, arbitrary: fc.record({ t: fc.constant("labelled" as const), body: block }) },
        {
          weight: 2,
          arbitrary: fc.record({
            t: fc.constant("closure" as const),
            k: fc.nat({ max: 3 }),
            n: count,
            e: expr,
            body: block,
          }),
        },
      ),
      block: fc.array(stmt, { maxLength: blockLength, depthIdentifier: "stmt" }),
    };
  });

  const child: fc.Arbitrary<ChildTree> = fc.record({
    params: fc.nat({ max: 4 }),
    arrow: fc.boolean(),
    pinned: fc.boolean(),
    body: tree.block,
    ret: tree.expr,
  });
  const rec: fc.Arbitrary<RecTree> = fc.record({
    fib: fc.boolean(),
    durableAtBase: fc.boolean(),
    durableAfter: fc.boolean(),
    n: fc.integer({ min: 0, max: 4 }),
  });
  return fc.record({
    closures: fc.constant(closures),
    avoid: fc.constant(avoid),
    children: fc.array(child, { maxLength: maxChildren }),
    rec: fc.option(rec, { nil: null, freq: 4 }),
    body: fc.array(tree.stmt, { minLength: 1, maxLength: 8, depthIdentifier: "stmt" }),
    ret: tree.expr,
    args: fc.array(small, { minLength: 1, maxLength: 4 }),
    dump: fc.array(fc.boolean(), { minLength: DUMPABLE.length, maxLength: DUMPABLE.length }),
  });
}

// ---------------------------------------------------------------------------------------------
// The printer

/** Main's locals that the final dump may show (a random subset: the rest may die early). */
const DUMPABLE = [
  "a",
  "b",
  "acc",
  "n",
  "arr",
  "res",
  "o",
  "m",
  "st",
  "dt",
  "big",
  "u",
  "nan",
  "nz",
  "sh",
  "pair",
  "more",
];

const FAILING_DELAY = 1_000_001;

interface Target {
  kind: "loop" | "switch" | "block";
  label: string | null;
}

interface Ctx {
  /** Readable numeric expressions. */
  nums: string[];
  /** Assignable identifiers. */
  writable: string[];
  /** Assignable member expressions (`#` stands for a computed key). */
  members: string[];
  targets: Target[];
  /** Whether a durable wait may happen here (nothing unstorable is live). */
  durable: boolean;
  /** Whether await is allowed (false inside a non-async arrow). */
  awaits: boolean;
  /** Children callable from here. */
  children: number[];
  catchVars: string[];
  main: boolean;
  /** Inside a nested plain function: no return/break/continue of the d-async function. */
  nested: boolean;
}

export interface PrintedProgram {
  source: string;
  /** Arguments of `main`. */
  args: number[];
  /**
   * Whether any function value is created, or an object is shared between frames: then the chaos
   * round trip after ordinary awaits must keep objects by identity, as an uncut frame would.
   */
  closures: boolean;
  /** Whether any durable wait can be reached (statically). */
  durable: boolean;
}

const BIN = ["+", "-", "*", "+", "-", "%", "**", "<", "===", "&"];
const ASSIGN = ["=", "+=", "-=", "*=", "??=", "||=", "&&="];

class Printer {
  private uid = 0;
  closures = false;
  /** Whether a mutable object is passed to a child (then chaos must keep objects by identity). */
  sharesObjects = false;
  durableSeen = false;
  /** Per child: may it suspend durably (transitively)? */
  private childDurable: boolean[] = [];
  private childNames: string[] = [];
  private childParams: number[] = [];
  private hasRec = false;
  private allowClosures = true;
  private avoid = new Set<Avoidable>();
  private recDurable = false;

  constructor(private readonly name: string) {}

  private id(prefix: string): string {
    return `${prefix}${this.uid++}`;
  }

  // -- expressions --------------------------------------------------------------------------

  /**
   * The arguments of a call of child `c`: destructured second parameters get only the first
   * argument (their defaults apply); a `box` parameter gets the shared object `sh` from main (so
   * the frames share it), a fresh object elsewhere.
   */
  private childArgs(c: number, args: string[], ctx: Ctx): string[] {
    const kind = this.childParams[c]!;
    if (kind === 4) {
      if (ctx.main) this.sharesObjects = true;
      return [args[0]!, ctx.main ? "sh" : "{ v: 1 }"];
    }
    return kind >= 2 ? args.slice(0, 1) : args;
  }

  /** Members of module-level objects that functions assign to (module state, not frame state). */
  private moduleTargets(): string[] {
    return this.avoid.has("module-targets") ? [] : ["gm.n", "gs.v"];
  }

  /** Whether calling child `c` (-1: `rec`) may suspend durably. */
  private mayDurable(c: number): boolean {
    return c < 0 ? this.recDurable : this.childDurable[c]!;
  }

  private callableChildren(ctx: Ctx): number[] {
    return ctx.durable ? ctx.children : ctx.children.filter((c) => !this.mayDurable(c));
  }

  private num(ctx: Ctx, i: number): string {
    return ctx.nums.length > 0 ? ctx.nums[i % ctx.nums.length]! : String(i % 10);
  }

  private awaitOf(k: number, inner: string, ctx: Ctx): string {
    if (!ctx.awaits) return inner;
    // Rejections are rare (3 in 101), so that programs get far enough.
    switch (k) {
      case 0:
        return `(await rej(${inner}))`;
      case 1:
        return `(await rejMacro(${inner}))`;
      case 2:
        if (this.avoid.has("receivers") || this.avoid.has("durable") || ctx.nested)
          return `(await rej(${inner}))`;
        return `(await DTask.fromError(new Error("fe " + ${inner})))`;
      case 3:
      case 4:
        if (this.avoid.has("receivers") || this.avoid.has("durable") || ctx.nested)
          return `(await micro(${inner}))`;
        return `(await DTask.fromResult(${inner}))`;
    }
    switch (k % 4) {
      case 0:
        return `(await micro(${inner}))`;
      case 1:
        return `(await macro(${inner}))`;
      case 2:
        return `(await (${inner}))`;
      default:
        return `(await thenable(${inner}))`;
    }
  }

  /** A durable wait, or an ordinary stand-in where none may happen. */
  private durableWait(k: number, ctx: Ctx): string {
    if (!ctx.awaits) return "undefined";
    if (!ctx.durable || this.avoid.has("durable")) return "(await micro(undefined))";
    this.durableSeen = true;
    if (k % 20 === 8) return `(await DTask.delay(${FAILING_DELAY}))`;
    switch (k % 5) {
      case 0:
      case 1:
        return `(await DTask.delay(${k % 10}))`;
      case 2:
      case 3:
        return "(await DTask.yield())";
      default:
        return `(await DTask.delay("${k % 10}ms"))`;
    }
  }

  ex(e: Expr, ctx: Ctx): string {
    switch (e.t) {
      case "num":
        return String(e.v);
      case "var":
        return this.num(ctx, e.i);
      case "bin":
        if (BIN[e.op % BIN.length] === "**")
          return `(((${this.ex(e.l, ctx)}) % 4) ** ((${this.ex(e.r, ctx)}) % 4))`;
        return `(${this.ex(e.l, ctx)} ${BIN[e.op % BIN.length]} ${this.ex(e.r, ctx)})`;
      case "cond":
        return `((${this.ex(e.c, ctx)}) % 2 ? ${this.ex(e.l, ctx)} : ${this.ex(e.r, ctx)})`;
      case "logic": {
        const l = this.ex(e.l, ctx);
        const r = this.ex(e.r, ctx);
        return e.op === 0 ? `(${l} && ${r})` : e.op === 1 ? `(${l} || ${r})` : `(nul(${l}) ?? ${r})`;
      }
      case "await":
        return this.awaitOf(e.k, this.ex(e.e, ctx), ctx);
      case "durable": {
        const inner = this.ex(e.e, ctx);
        const wait = this.durableWait(e.k, ctx);
        return e.k % 2 ? `(${wait}, ${inner})` : `(${wait} ?? ${inner})`;
      }
      case "child": {
        const args = e.args.map((a) => this.ex(a, ctx));
        const callable = this.callableChildren(ctx);
        if (!ctx.awaits || callable.length === 0) return `h2(${args.slice(0, 2).join(", ")})`;
        const c = callable[e.c % callable.length]!;
        if (this.mayDurable(c)) this.durableSeen = true;
        if (c < 0) return `(await rec(${e.c % 4}))`;
        // Destructured second parameters get only the first argument (their defaults apply).
        const passed = this.childArgs(c, args, ctx);
        return `(await ${this.childNames[c]}(${passed.join(", ")}))`;
      }
      case "call": {
        const l = this.ex(e.l, ctx);
        const r = this.ex(e.r, ctx);
        switch (e.k) {
          case 0:
            return `h2(${l}, ${r})`;
          case 1:
            return this.avoid.has("receivers") ? `h2(${l}, ${r})` : `calc.m(${l}, ${r})`;
          case 2:
            return this.avoid.has("receivers") ? `h2(${r}, ${l})` : `Math.max(${l}, ${r})`;
          case 3:
            return `new Pt(${l}, ${r}).sum()`;
          case 4:
            return `tag\`a\${${l}}b\${${r}}c\``;
          case 5:
            return `h2(...[${l}, ${r}])`;
          case 6:
            return this.avoid.has("receivers") ? `h2(...[${l}], ${r})` : `Math.min(...[${l}], ${r})`;
          case 7:
            return `String(${l}).concat(${r}).length`;
          default:
            return `[${l}].concat([${r}]).length`;
        }
      }
      case "member": {
        const inner = this.ex(e.e, ctx);
        switch (e.k) {
          case 0:
            return ctx.main ? `arr[(${inner}) & 3]` : `[4, 5, 6][(${inner}) & 3]`;
          case 1:
            return `({ p: ${inner}, q: 2 }).p`;
          case 2:
            return ctx.main ? `(${inner}, o).k` : `({ k: ${inner} }).k`;
          case 3:
            return `"abcdef".charCodeAt((${inner}) & 7)`;
          default:
            return ctx.main ? `o.j.z + ${inner}` : `(${inner})`;
        }
      }
      case "opt": {
        const l = this.ex(e.l, ctx);
        switch (e.k) {
          case 0:
            return `((${l}) % 2 ? null : [1, 2, 3])?.indexOf(${this.ex(e.r, ctx)})`;
          case 1:
            return `((${l}) % 2 ? null : [5, 6, 7])?.[(${this.ex(e.r, ctx)}) & 3]`;
          case 2:
            // The receiver is an object holding a function: nothing durable while it is held.
            return `((${l}) % 2 ? null : calc)?.m(${this.ex(e.r, { ...ctx, durable: false })}, 1)`;
          case 3:
            return `nul(+(${l}))?.toFixed(0)?.length`;
          default:
            return `((${l}) % 2 ? undefined : { k: { z: 4 } })?.k?.z`;
        }
      }
      case "lit": {
        const l = this.ex(e.l, ctx);
        const r = this.ex(e.r, ctx);
        switch (e.k) {
          case 0:
            return `[${l}, ${r}][1]`;
          case 1:
            return `({ a: ${l}, b: ${r} }).a`;
          case 2:
            return `[...[${l}, 1], ${r}].length`;
          case 3:
            return `({ ...{ a: ${l}, b: 1 }, b: ${r} }).b`;
          case 4:
            return this.avoid.has("receivers")
              ? `keys({ [${l}]: 1, [${r}]: 2 })`
              : `Object.keys({ [${l}]: 1, [${r}]: 2 }).length`;
          default:
            return `[${l}, , ${r}].length`;
        }
      }
      case "tmpl": {
        const l = this.ex(e.l, ctx);
        const r = this.ex(e.r, ctx);
        switch (e.k) {
          case 0:
            return `\`\${${l}}-\${${r}}\`.length`;
          case 1:
            return `tag\`x\${${l}}y\${${r}}\``;
          default:
            return `Number(\`\${${l}}\${${r}}\`)`;
        }
      }
      case "assign": {
        const target = this.target(e.target, e.key, ctx);
        const value = this.ex(e.e, ctx);
        if (!target) return `(${value})`;
        return `(${target} ${ASSIGN[e.op % ASSIGN.length]} ${value})`;
      }
      case "seq":
        return `(${this.ex(e.l, ctx)}, ${this.ex(e.r, ctx)})`;
      case "closure": {
        if (!this.allowClosures) return this.ex(e.e, ctx);
        this.closures = true;
        // The callee (a fresh closure) is held while the argument is evaluated: nothing durable.
        const arg = this.ex(e.e, { ...ctx, durable: false });
        if (e.k === 0 || !ctx.awaits) {
          // A plain arrow: no await inside.
          const inner: Ctx = {
            ...ctx,
            nums: ["z", ...ctx.nums],
            awaits: false,
            durable: false,
            nested: true,
          };
          return `((z) => ${this.ex(e.body, inner)})(${arg})`;
        }
        const inner: Ctx = {
          ...ctx,
          nums: ["z", "w", ...ctx.nums],
          durable: false,
          nested: true,
          targets: [],
          // Plain code may not await a DTask (DT202): no d-async calls in a nested function.
          children: [],
        };
        const body = this.ex(e.body, inner);
        return e.k === 1
          ? `(await (async (z) => { const w = await micro(z); return w + ${body}; })(${arg}))`
          : `(await (async function (z, ...w) { w = await macro(z + w.length); return ${body}; })(${arg}, 1))`;
      }
      case "unary": {
        const inner = this.ex(e.e, ctx);
        switch (e.k) {
          case 0:
            return `(-${inner})`;
          case 1:
            return `(+!${inner})`;
          case 2:
            return `(typeof ${inner} === "number" ? 1 : 0)`;
          case 3:
            return `(void ${inner}, 3)`;
          default:
            return `(~${inner})`;
        }
      }
      case "misc": {
        const l = this.ex(e.l, ctx);
        switch (e.k) {
          case 0:
            return `((${l}) in [4, 5, 6] ? 1 : 0)`;
          case 1:
            return ctx.main
              ? `(delete o[(${l}) % 2 ? "q" : "zz"], ${this.ex(e.r, ctx)})`
              : `(delete ({ q: 1 })[${l}], ${this.ex(e.r, ctx)})`;
          case 2:
            return `+[1, 2, 3][(${l}) % 2 ? "indexOf" : "includes"](${this.ex(e.r, ctx)})`;
          case 3: {
            if (!this.allowClosures) return `(${l})`;
            this.closures = true;
            // A chain of optional calls through an object holding a function: nothing durable in it.
            const r = this.ex(e.r, { ...ctx, durable: false });
            return `((${l}) % 2 ? null : { f: (x) => ({ g: x }) })?.f?.(${r})?.g`;
          }
          default:
            // A tag that is a method: called with its receiver.
            return `tagger.t\`a\${${l}}b\${${this.ex(e.r, ctx)}}\``;
        }
      }
      case "update": {
        const target = this.target(e.target, e.key, ctx);
        if (!target) return "0";
        return ["(++T)", "(T++)", "(--T)", "(T--)"][e.k % 4]!.replace("T", target);
      }
      case "hoisted": {
        if (!ctx.main || !this.allowClosures) return this.ex(e.e, ctx);
        this.closures = true;
        return `hx(${this.ex(e.e, ctx)})`;
      }
    }
  }

  /** An assignment target, or null if none is in scope. */
  private target(i: number, key: Expr, ctx: Ctx): string | null {
    const all = [...ctx.writable, ...ctx.members];
    if (all.length === 0) return null;
    const t = all[i % all.length]!;
    return t.includes("#") ? t.replace("#", `(${this.ex(key, ctx)}) & 3`) : t;
  }

  // -- statements ---------------------------------------------------------------------------

  private block(stmts: Stmt[], ctx: Ctx, indent: string): string[] {
    // Names declared by a statement (a `var` loop counter) are visible to later statements.
    const local: Ctx = { ...ctx, nums: [...ctx.nums], writable: [...ctx.writable] };
    const out: string[] = [];
    for (const s of stmts) out.push(...this.st(s, local, indent));
    return out;
  }

  private st(s: Stmt, ctx: Ctx, ind: string): string[] {
    const more = `${ind}  `;
    switch (s.t) {
      case "log":
        return [`${ind}log("${this.id("L")}:" + ${this.ex(s.e, ctx)});`];
      case "set": {
        const target = this.target(s.target, s.key, ctx);
        const value = this.ex(s.e, ctx);
        if (!target) return [`${ind}log("${this.id("V")}:" + ${value});`];
        return [`${ind}${target} ${ASSIGN[s.op % ASSIGN.length]} ${value};`];
      }
      case "durable":
        return [`${ind}${this.durableWait(s.k, ctx)};`];
      case "wait":
        return ctx.awaits ? [`${ind}${this.awaitOf(s.k, this.ex(s.e, ctx), ctx)};`] : [];
      case "break": {
        if (s.lbl === 0) {
          const inner = [...ctx.targets].reverse().find((t) => t.kind !== "block");
          if (inner) return [`${ind}break;`];
        }
        const labelled = ctx.targets.filter((t) => t.label !== null);
        if (labelled.length === 0) return [];
        return [`${ind}break ${labelled[s.lbl % labelled.length]!.label};`];
      }
      case "continue": {
        if (s.lbl === 0 && ctx.targets.some((t) => t.kind === "loop")) return [`${ind}continue;`];
        const labelled = ctx.targets.filter((t) => t.label !== null && t.kind === "loop");
        if (labelled.length === 0) return [];
        return [`${ind}continue ${labelled[s.lbl % labelled.length]!.label};`];
      }
      case "throw": {
        const id = this.id("T");
        const value = this.ex(s.e, ctx);
        switch (s.k) {
          case 0:
            return [`${ind}throw new Error("${id}:" + ${value});`];
          case 1:
            return [`${ind}throw new TypeError("${id}:" + ${value});`];
          case 2:
            return [`${ind}throw new Error("${id}", { cause: new RangeError("cause " + ${value}) });`];
          case 3:
            return [`${ind}throw ${value};`];
          default:
            if (ctx.catchVars.length > 0) return [`${ind}throw ${ctx.catchVars[ctx.catchVars.length - 1]};`];
            return [`${ind}throw new Error("${id}");`];
        }
      }
      case "return":
        return ctx.nested ? [] : [`${ind}return ${this.ex(s.e, ctx)};`];
      case "logErr":
        if (ctx.catchVars.length === 0) return [];
        return [`${ind}log("${this.id("E")}:" + msg(${ctx.catchVars[s.i % ctx.catchVars.length]}));`];
      case "if": {
        const c = this.ex(s.c, ctx);
        const out = [`${ind}if (${s.k ? `(${c}) % 2` : `(${c}) > 4`}) {`, ...this.block(s.th, ctx, more)];
        if (s.el) out.push(`${ind}} else {`, ...this.block(s.el, ctx, more));
        out.push(`${ind}}`);
        return out;
      }
      case "loop":
        return this.loop(s, ctx, ind);
      case "switch": {
        const label = s.label ? this.id("S") : null;
        const d = this.ex(s.d, ctx);
        const inner: Ctx = { ...ctx, targets: [...ctx.targets, { kind: "switch", label }] };
        const out = [`${ind}${label ? `${label}: ` : ""}switch ((${d}) & 3) {`];
        const def = s.def % (s.clauses.length + 1);
        s.clauses.forEach((clause, i) => {
          if (i === def) out.push(`${ind}  default:`);
          const value = i % 4;
          // Case tests are evaluated lazily, in order: awaits in them are worth testing.
          const test =
            clause.tk === 1
              ? `(await micro(${value}))`
              : clause.tk === 2 && ctx.durable
                ? `(${this.durableWait(2, ctx)}, ${value})`
                : String(value);
          out.push(`${ind}  case ${ctx.awaits ? test : value}:`);
          out.push(...this.block(clause.body, inner, `${more}  `));
          if (clause.brk) out.push(`${more}  break;`);
        });
        if (def === s.clauses.length) out.push(`${ind}  default:`, `${more}  log("${this.id("D")}");`);
        out.push(`${ind}}`);
        return out;
      }
      case "try": {
        const body = this.block(s.body, ctx, more);
        // Most try blocks end by throwing, so that handlers (and the exception table) get work.
        if (s.thr === 1) body.push(`${more}throw new Error("${this.id("T")}");`);
        if (s.thr === 2) body.push(`${more}await rej(${s.thr});`);
        if (s.thr === 3) body.push(`${more}${this.durableWait(8, ctx)};`);
        if (s.thr === 4)
          body.push(`${more}if (typeof log === "function") throw new RangeError("${this.id("T")}");`);
        const out = [`${ind}try {`, ...body];
        // Without finally clauses (avoid), a try/finally becomes a try/catch.
        const k = this.avoid.has("finally") && s.k !== 3 ? 0 : s.k;
        if (k !== 1) {
          if (k === 3) {
            out.push(`${ind}} catch {`, ...this.block(s.handler, ctx, more));
          } else {
            const e = this.id("e");
            out.push(`${ind}} catch (${e}) {`);
            out.push(`${more}log("${this.id("C")}:" + msg(${e}));`);
            out.push(...this.block(s.handler, { ...ctx, catchVars: [...ctx.catchVars, e] }, more));
          }
        }
        if (k === 1 || k === 2) out.push(`${ind}} finally {`, ...this.block(s.fin, ctx, more));
        out.push(`${ind}}`);
        return out;
      }
      case "block": {
        const shadow = s.k === 3 && ctx.writable.length > 0 ? ctx.writable[0]! : null;
        const name = shadow ?? this.id("t");
        // A shadowing declaration's initializer must not read the binding it shadows (TDZ).
        const initCtx = shadow
          ? {
              ...ctx,
              nums: ctx.nums.filter((x) => x !== shadow),
              writable: ctx.writable.filter((x) => x !== shadow),
            }
          : ctx;
        const init = this.ex(s.e, initCtx);
        const isConst = s.k === 1;
        const inner: Ctx = {
          ...ctx,
          nums: [name, ...ctx.nums.filter((x) => x !== name)],
          writable: isConst
            ? ctx.writable.filter((x) => x !== name)
            : [name, ...ctx.writable.filter((x) => x !== name)],
        };
        return [
          `${ind}{`,
          `${more}${isConst ? "const" : "let"} ${name} = ${init};`,
          ...this.block(s.body, inner, more),
          `${more}log("${this.id("B")}:" + ${name});`,
          `${ind}}`,
        ];
      }
      case "labelled": {
        const label = this.id("K");
        const inner: Ctx = { ...ctx, targets: [...ctx.targets, { kind: "block", label }] };
        return [`${ind}${label}: {`, ...this.block(s.body, inner, more), `${ind}}`];
      }
      case "destr":
        return this.destructure(s, ctx, ind);
      case "child": {
        const callable = this.callableChildren(ctx);
        if (!ctx.awaits || callable.length === 0)
          return [`${ind}log("${this.id("N")}:" + ${this.ex(s.e, ctx)});`];
        const c = callable[s.c % callable.length]!;
        if (this.mayDurable(c)) this.durableSeen = true;
        const call =
          c < 0
            ? `rec(${s.c % 4})`
            : `${this.childNames[c]}(${this.childArgs(c, [this.ex(s.e, ctx)], ctx).join(", ")})`;
        switch (s.k) {
          case 0:
            return ctx.main
              ? [`${ind}res.push(await ${call});`]
              : [`${ind}log("${this.id("R")}:" + (await ${call}));`];
          case 1:
            return [`${ind}log(h2(await ${call}, ${this.ex(s.e2, ctx)}));`];
          case 2:
            return ctx.writable.length > 0
              ? [`${ind}${ctx.writable[s.c % ctx.writable.length]} += await ${call};`]
              : [`${ind}log(await ${call});`];
          default:
            return this.avoid.has("receivers")
              ? [`${ind}log(h2(await ${call}, ${this.ex(s.e2, ctx)}));`]
              : [`${ind}log(calc.m(await ${call}, ${this.ex(s.e2, ctx)}));`];
        }
      }
      case "values":
        return this.values(s, ctx, ind);
      case "closure":
        return this.closureBlock(s, ctx, ind);
    }
  }

  private loop(s: Extract<Stmt, { t: "loop" }>, ctx: Ctx, ind: string): string[] {
    const more = `${ind}  `;
    const label = s.label ? this.id("W") : null;
    const head = label ? `${label}: ` : "";
    const targets: Target[] = [...ctx.targets, { kind: "loop", label }];
    const inner = (vars: string[], writable: string[], durable = ctx.durable): Ctx => ({
      ...ctx,
      nums: [...vars, ...ctx.nums],
      writable: [...writable, ...ctx.writable],
      targets,
      durable,
    });
    const body = (c: Ctx) => [`${more}guard();`, ...this.block(s.body, c, more)];
    const n = s.n;
    const kind = this.avoid.has("iterators") && [7, 8, 12].includes(s.k % 15) ? 0 : s.k % 15;
    switch (kind) {
      case 0: {
        const i = this.id("i");
        return [`${ind}${head}for (let ${i} = 0; ${i} < ${n}; ${i}++) {`, ...body(inner([i], [])), `${ind}}`];
      }
      case 1: {
        // Two per-iteration bindings, the test awaiting.
        const i = this.id("i");
        const j = this.id("j");
        return [
          `${ind}${head}for (let ${i} = 0, ${j} = 10; ${i} < (await micro(${n})); ${i}++, ${j}--) {`,
          ...body(inner([i, j], [])),
          `${ind}}`,
        ];
      }
      case 13: {
        // No test: the body's first statement is the only way out.
        const g = this.id("g");
        return [
          `${ind}${head}for (let ${g} = 0; ; ${g}++) {`,
          `${more}if (${g} >= ${n}) break;`,
          ...body(inner([g], [])),
          `${ind}}`,
        ];
      }
      case 14: {
        // An outer `let` counter updated in the body (after a possible continue: also in the update).
        const c = this.id("n");
        return [
          `${ind}{`,
          `${more}let ${c} = 0;`,
          `${more}${head}for (; ${c} < ${n}; ${c} += (await micro(1))) {`,
          ...body(inner([c], [])).map((l) => `  ${l}`),
          `${more}}`,
          `${more}log("${this.id("O")}:" + ${c});`,
          `${ind}}`,
        ];
      }
      case 2: {
        // `var`: function-scoped, readable after the loop.
        const v = this.id("v");
        const out = [
          `${ind}${head}for (var ${v} = 0; ${v} < ${n}; ${v}++) {`,
          ...body(inner([v], [])),
          `${ind}}`,
        ];
        ctx.nums.push(v);
        return out;
      }
      case 3: {
        const w = this.id("w");
        return [
          `${ind}{`,
          `${more}let ${w} = ${n};`,
          `${more}${head}while (${w}-- > 0) {`,
          ...body(inner([w], [])).map((l) => `  ${l}`),
          `${more}}`,
          `${ind}}`,
        ];
      }
      case 4: {
        const d = this.id("d");
        return [
          `${ind}{`,
          `${more}let ${d} = ${n};`,
          `${more}${head}do {`,
          ...body(inner([d], [])).map((l) => `  ${l}`),
          `${more}} while (--${d} > 0);`,
          `${ind}}`,
        ];
      }
      case 5: {
        const x = this.id("x");
        const iterable = `[${this.ex(s.e1, ctx)}, ${this.ex(s.e2, ctx)}, ${n}]`;
        return [`${ind}${head}for (const ${x} of ${iterable}) {`, ...body(inner([x], [])), `${ind}}`];
      }
      case 6: {
        // A `let` element over a live array the body may grow (the cursor re-reads the length).
        const x = this.id("x");
        const source = ctx.main ? "arr" : `[${this.ex(s.e1, ctx)}, 2]`;
        return [`${ind}${head}for (let ${x} of ${source}) {`, ...body(inner([x], [x])), `${ind}}`];
      }
      case 7: {
        // Iterators: nothing durable while one is open; early exits must close it.
        const x = this.id("x");
        const name = this.id("it");
        const which = (n + (s.label ? 3 : 0)) % (this.avoid.has("throwing-iterators") ? 4 : 6);
        const iterable = [
          () => `mk(${n + 1}, "${name}")`,
          () => `gen(${n + 1}, "${name}")`,
          () => `new Set([${this.ex(s.e1, ctx)}, 2, 2, 3])`,
          () => `new Map([[1, ${this.ex(s.e1, ctx)}], [2, 5]]).values()`,
          // return() throws (on break/return that error wins; on throw the body's error does)
          () => `mkBad(${n + 2}, "${name}")`,
          // next() throws on the second step (the iterator is not closed)
          () => `mkThrow(${n + 2}, "${name}")`,
        ][which]!();
        return [`${ind}${head}for (const ${x} of ${iterable}) {`, ...body(inner([x], [], false)), `${ind}}`];
      }
      case 8: {
        const k = this.id("k");
        const v = this.id("v");
        const map = ctx.main ? "new Map(m)" : `new Map([["p", ${this.ex(s.e1, ctx)}]])`;
        return [
          `${ind}${head}for (const [${k}, ${v}] of ${map}) {`,
          ...body(inner([v, k], [], false)),
          `${ind}}`,
        ];
      }
      case 9: {
        const k = this.id("k");
        const obj = ctx.main && n % 2 === 0 ? "o" : `{ p: ${this.ex(s.e1, ctx)}, q: 2, r: 3 }`;
        const out = [`${ind}${head}for (const ${k} in ${obj}) {`, `${more}guard();`];
        // Deleting a key not yet visited: for-in must skip it.
        if (obj === "o" && n === 2) out.push(`${more}if (${k} === "k") delete o.q;`);
        out.push(...this.block(s.body, inner([`${k}.length`], []), more), `${ind}}`);
        return out;
      }
      case 10: {
        const x = this.id("x");
        return [
          `${ind}${head}for await (const ${x} of [${this.ex(s.e1, ctx)}, ${n}]) {`,
          ...body(inner([x], [])),
          `${ind}}`,
        ];
      }
      case 11: {
        // A sync iterable of promises and thenables: each element is awaited; the array holds
        // promises, so nothing durable inside.
        const x = this.id("x");
        return [
          `${ind}${head}for await (const ${x} of [${this.ex(s.e1, ctx)}, micro(${n}), thenable(2)]) {`,
          ...body(inner([x], [], false)),
          `${ind}}`,
        ];
      }
      default: {
        const x = this.id("x");
        const name = this.id("ai");
        const iterable = n % 2 ? `agen(${n}, "${name}")` : `amk(${n + 1}, "${name}")`;
        return [
          `${ind}${head}for await (const ${x} of ${iterable}) {`,
          ...body(inner([x], [], false)),
          `${ind}}`,
        ];
      }
    }
  }

  private destructure(s: Extract<Stmt, { t: "destr" }>, ctx: Ctx, ind: string): string[] {
    const more = `${ind}  `;
    const w = ctx.writable.filter((x) => !x.includes("."));
    const a = this.ex(s.a, ctx);
    // In an array pattern the iterator is open while defaults are evaluated: nothing durable.
    const noDurable: Ctx = { ...ctx, durable: false };
    switch (s.k) {
      case 0:
        if (w.length >= 2) return [`${ind}[${w[0]}, ${w[1]} = ${this.ex(s.b, noDurable)}] = [${a}];`];
        break;
      case 1:
        if (w.length >= 2)
          return [`${ind}({ p: ${w[0]} = ${a}, q: ${w[1]} } = { q: ${this.ex(s.b, ctx)} });`];
        break;
      case 2: {
        const p = this.id("p");
        const r = this.id("r");
        return [
          `${ind}{`,
          `${more}const { p: ${p} = ${a}, ...${r} } = { q: ${this.ex(s.b, ctx)}, r: 3 };`,
          `${more}log("${this.id("P")}:" + ${p} + "/" + keys(${r}));`,
          `${ind}}`,
        ];
      }
      case 3: {
        const p = this.id("p");
        const q = this.id("q");
        const exhaust = !this.avoid.has("exhausted");
        const rest = exhaust && s.n % 2 ? `, ...${this.id("r")}` : "";
        const name = this.id("it");
        return [
          `${ind}{`,
          `${more}const [${p}, ${q} = ${this.ex(s.b, noDurable)}${rest}] = mk(${exhaust ? s.n : s.n + 5}, "${name}");`,
          `${more}log("${this.id("P")}:" + ${p} + "/" + ${q});`,
          `${ind}}`,
        ];
      }
      case 4:
        if (w.length >= 2) return [`${ind}[${w[0]}, ${w[1]}] = [${w[1]}, ${w[0]}];`];
        break;
      case 5:
        if (w.length >= 1)
          return [`${ind}({ j: { z: ${w[0]} = ${a} } } = { j: { y: ${this.ex(s.b, ctx)} } });`];
        break;
      default: {
        const p = this.id("p");
        const q = this.id("q");
        return [
          `${ind}{`,
          this.avoid.has("array-defaults")
            ? `${more}let [${p}, [${q}]] = [${this.ex(s.a, noDurable)}, [${this.ex(s.b, noDurable)}]];`
            : `${more}let [${p} = ${this.ex(s.a, noDurable)}, [${q}] = [${this.ex(s.b, noDurable)}]] = [];`,
          `${more}log("${this.id("P")}:" + ${p} + "/" + ${q});`,
          `${ind}}`,
        ];
      }
    }
    return [`${ind}log("${this.id("P")}:" + ${a});`];
  }

  private values(s: Extract<Stmt, { t: "values" }>, ctx: Ctx, ind: string): string[] {
    if (!ctx.main) return [`${ind}log("${this.id("X")}:" + ${this.ex(s.e, ctx)});`];
    const e = this.ex(s.e, ctx);
    switch (s.k) {
      case 0:
        return [`${ind}m.set(String(${e}), { at: m.size, v: [m.size] });`];
      case 1:
        return [`${ind}st.add(${e});`];
      case 2:
        return [`${ind}dt = new Date(dt.getTime() + (${e}) * 86400000);`];
      case 3:
        return [
          `${ind}big = big * 3n + BigInt(m.size + st.size);`,
          `${ind}log("${this.id("G")}:" + (${e}));`,
        ];
      case 4:
        return [`${ind}u = u === undefined ? ${e} : undefined;`];
      case 5:
        return [`${ind}nz = -nz; nan = nan + (${e});`];
      case 6:
        return [`${ind}sh.v += ${e};`, `${ind}if (pair.length < 5) pair.push(sh);`];
      case 7:
        return [`${ind}o.k = ${e};`, `${ind}o.j = { z: o.j.z + 1, up: o };`];
      case 8:
        return [`${ind}if (arr.length < 8) arr.push(${e});`];
      case 9:
        return [`${ind}n = (${e}) % 2 ? null : 4;`];
      default:
        return [
          `${ind}log("${this.id("Y")}:" + show([m, st, dt, big, u, nan, nz, sh, pair, o]));`,
          `${ind}${e};`,
        ];
    }
  }

  private closureBlock(s: Extract<Stmt, { t: "closure" }>, ctx: Ctx, ind: string): string[] {
    const more = `${ind}  `;
    if (!this.allowClosures) return [`${ind}{`, ...this.block(s.body, ctx, more), `${ind}}`];
    this.closures = true;
    // Function values are held throughout the block: no durable wait inside.
    const base: Ctx = { ...ctx, durable: false };
    switch (s.k) {
      case 0: {
        // Per-iteration `let` captured by closures.
        const f = this.id("f");
        const j = this.id("j");
        const c = this.num(ctx, s.n);
        const inner: Ctx = {
          ...base,
          nums: [j, ...ctx.nums],
          targets: [...ctx.targets, { kind: "loop", label: null }],
        };
        return [
          `${ind}{`,
          `${more}const ${f} = [];`,
          `${more}for (let ${j} = 0; ${j} < ${s.n + 1}; ${j}++) {`,
          `${more}  guard();`,
          `${more}  ${f}.push(() => ${j} * 10 + ${c});`,
          ...this.block(s.body, inner, `${more}  `),
          `${more}}`,
          `${more}log("${this.id("F")}:" + ${f}.map((g) => g()).join());`,
          `${ind}}`,
        ];
      }
      case 1: {
        // A body-scoped `let` per iteration, captured, then written after an ordinary await.
        const f = this.id("f");
        const x = this.id("x");
        const c = this.id("c");
        const inner: Ctx = {
          ...base,
          nums: [c, x, ...ctx.nums],
          writable: [c, ...ctx.writable],
          targets: [...ctx.targets, { kind: "loop", label: null }],
        };
        return [
          `${ind}{`,
          `${more}const ${f} = [];`,
          `${more}for (const ${x} of [${this.ex(s.e, ctx)}, ${s.n}]) {`,
          `${more}  guard();`,
          `${more}  let ${c} = ${x};`,
          `${more}  ${f}.push(() => ${c});`,
          ...this.block(s.body, inner, `${more}  `),
          `${more}  ${c} += await micro(1);`,
          `${more}}`,
          `${more}log("${this.id("F")}:" + ${f}.map((g) => g()).join());`,
          `${ind}}`,
        ];
      }
      case 3: {
        // A closure made in one iteration, called in the next: it must see its own iteration's
        // binding, also after the body wrote to it (the copy for the next iteration is taken
        // after the write, before the update).
        const prev = this.id("prev");
        const j = this.id("j");
        const inner: Ctx = {
          ...base,
          nums: [j, ...ctx.nums],
          targets: [...ctx.targets, { kind: "loop", label: null }],
        };
        return [
          `${ind}{`,
          `${more}let ${prev} = null;`,
          `${more}for (let ${j} = 0; ${j} < ${s.n + 2}; ${j}++) {`,
          `${more}  guard();`,
          `${more}  if (${prev}) log("${this.id("Q")}:" + ${prev}());`,
          `${more}  ${prev} = () => ${j} * 100 + ${this.num(ctx, s.n)};`,
          ...this.block(s.body, inner, `${more}  `),
          `${more}  if (${j} === 1) ${j} += await micro(1);`,
          `${more}}`,
          `${more}log("${this.id("Q")}:" + (${prev} ? ${prev}() : "none"));`,
          `${ind}}`,
        ];
      }
      default: {
        // A closure sharing a local with the function across ordinary awaits.
        const c = this.id("c");
        const inc = this.id("inc");
        const inner: Ctx = { ...base, nums: [c, ...ctx.nums], writable: [c, ...ctx.writable] };
        return [
          `${ind}{`,
          `${more}let ${c} = ${this.ex(s.e, ctx)};`,
          `${more}const ${inc} = (k) => (${c} += k);`,
          ...this.block(s.body, inner, more),
          `${more}${inc}(await micro(${s.n}));`,
          `${more}log("${this.id("F")}:" + ${c} + "/" + ${inc}(1));`,
          `${ind}}`,
        ];
      }
    }
  }

  // -- functions ----------------------------------------------------------------------------

  private mainCtx(): Ctx {
    return {
      nums: ["a", "b", "acc", "p", "q", "n", "o.k", "arr.length", "sh.v", "more.length", "res.length"],
      writable: ["a", "b", "acc", "n", "p"],
      members: ["o.k", "arr[#]", "sh.v", "o.j.z", ...this.moduleTargets()],
      targets: [],
      durable: true,
      awaits: true,
      children: [],
      catchVars: [],
      main: true,
      nested: false,
    };
  }

  print(tree: ProgramTree): PrintedProgram {
    const lines: string[] = ['import { dasync, DTask } from "dtasks";', PRELUDE];
    this.allowClosures = tree.closures;
    this.avoid = new Set(tree.avoid);
    const childSources: string[][] = [];
    this.childNames = tree.children.map((_, i) => `ch${i}`);
    this.childParams = tree.children.map((c) => c.params % 5);
    this.childDurable = tree.children.map(() => false);
    this.hasRec = tree.rec !== null;
    const recBase = !!tree.rec?.durableAtBase && !this.avoid.has("durable");
    const recAfter = !!tree.rec?.durableAfter && !this.avoid.has("durable");
    this.recDurable = recBase || recAfter;

    // Children are printed last to first: child i may call children after it.
    for (let i = tree.children.length - 1; i >= 0; i--) {
      const child = tree.children[i]!;
      const params = [
        "(x)",
        "(x, y = x * 2, ...rest)",
        "(x, { k = 3, j } = { j: x })",
        "(x, [y, z] = [x, 2])",
        "(x, box)",
      ][child.params % 5]!;
      const paramNums = [["x"], ["x", "y", "rest.length"], ["x", "k", "j"], ["x", "y", "z"], ["x", "box.v"]][
        child.params % 5
      ]!;
      const ctx: Ctx = {
        nums: ["t", ...paramNums],
        writable: ["t", "x"],
        // A child given an object writes through it: the caller must see it, before and after a snapshot.
        members: [...(child.params % 5 === 4 ? ["box.v"] : []), ...this.moduleTargets()],
        targets: [],
        durable: true,
        awaits: true,
        children: tree.children.map((_, j) => j).filter((j) => j > i),
        catchVars: [],
        main: false,
        nested: false,
      };
      this.durableSeen = false;
      const body = this.block(child.body, ctx, "  ");
      const ret = this.ex(child.ret, ctx);
      this.childDurable[i] = this.durableSeen;
      const name = this.childNames[i]!;
      const fn = child.arrow ? `async ${params} => {` : `async function ${name}${params} {`;
      const head = child.pinned ? `dasync("${this.name}.${name}", ${fn}` : `dasync(${fn}`;
      childSources[i] = [`const ${name} = ${head}`, "  let t = 1;", ...body, `  return ${ret};`, "});"];
    }
    for (const source of childSources) lines.push(...source);

    if (tree.rec) {
      const r = tree.rec;
      lines.push(
        "const rec = dasync(async function rec(k) {",
        // Bounded even when a broken compiler loses `k` (the driver's stack is on the heap).
        "  guard();",
        "  if (k <= 0) {",
        ...(recBase ? ["    await DTask.delay(1);"] : []),
        "    return 1;",
        "  }",
        '  log("rec " + k);',
        r.fib
          ? "  const r = (await rec(k - 1)) + (await rec(k - 2));"
          : "  const r = (await rec(k - 1)) * 2;",
        ...(recAfter ? ["  await DTask.yield();"] : []),
        "  return r + k;",
        "});",
      );
    }

    const ctx = this.mainCtx();
    ctx.children = [...(this.hasRec ? [-1] : []), ...tree.children.map((_, i) => i)];
    this.durableSeen = false;
    const body = this.block(tree.body, ctx, "  ");
    const ret = this.ex(tree.ret, ctx);
    const anyDurable = this.durableSeen;
    const dumped = DUMPABLE.filter((_, i) => tree.dump[i]);
    lines.push(
      "const main = dasync(async function main(p, q = 2, ...more) {",
      "  let a = p, b = q, acc = 0, n = null;",
      "  const arr = [1, 2, 3], res = [], o = { k: 1, j: { z: 2 }, q: 5 };",
      '  let m = new Map([["x", 1]]), st = new Set([1]), dt = new Date(0), big = 5n, u, nan = NaN, nz = -0;',
      "  const sh = { v: 1 }, pair = [sh, sh];",
      "  function hx(k) { return b * 3 + k; }",
      ...body,
      `  log("end " + show([${dumped.join(", ")}]) + " gm " + gm.n + " gs " + gs._v);`,
      `  return ${ret};`,
      "});",
      "export { main };",
    );
    return {
      source: lines.join("\n"),
      args: tree.args,
      closures: this.closures || this.sharesObjects,
      durable: anyDurable,
    };
  }
}

/** Prints a generated tree as a program module (`name` makes pinned ids unique). */
export function printProgram(tree: ProgramTree, name: string): PrintedProgram {
  return new Printer(name).print(tree);
}
