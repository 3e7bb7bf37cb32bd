// A module without a d-async entry point, for `dtasks run`'s error message.
export default function main() {
  return 1;
}
