// TypeScript test targets for javascript.yaml (semgrep --test). Deliberately insecure code.
import * as child_process from "child_process";
import { createHash } from "crypto";

export function run(branch: string): Buffer {
  // ruleid: pg.js.child-process-exec
  return child_process.execSync("git log " + branch);
}

export function compute(expr: string): unknown {
  // ruleid: pg.js.eval
  return eval(expr);
}

export function show(el: HTMLElement, message: string): void {
  // ruleid: pg.js.innerhtml-assignment
  el.innerHTML = message;
  // ok: pg.js.innerhtml-assignment
  el.innerText = message;
}

export function digest(data: string): string {
  // ruleid: pg.js.weak-hash
  return createHash("md5").update(data).digest("hex");
}
