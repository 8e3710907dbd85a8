/** Test helper thread for read_gate_test.ts: enters the gate (checking every `parkMs`), reports it, leaves when told. */
import { ReadGate } from "../read_gate.ts";

interface Scope {
  onmessage: ((e: MessageEvent<{ sab: SharedArrayBuffer; parkMs: number } | "leave">) => void) | null;
  postMessage(m: string): void;
}
const scope = globalThis as unknown as Scope;
let gate: ReadGate | undefined;
scope.onmessage = (e) => {
  if (e.data === "leave") {
    gate!.leave(false);
    scope.postMessage("left");
    return;
  }
  gate = new ReadGate(e.data.sab, e.data.parkMs, e.data.parkMs);
  scope.postMessage("entering");
  gate.enter();
  scope.postMessage("entered");
};
