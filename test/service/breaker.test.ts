/** The circuit breaker of one upstream × model (route/breaker.ts), on a fake clock. */
import { describe, expect, it } from "vitest";
import { createBreaker, type BreakerOutcome, type BreakerState } from "../../service/src/route/breaker.js";

function setup(overrides: Partial<Parameters<typeof createBreaker>[0]> = {}) {
  let t = 1_000_000;
  const changes: BreakerState[] = [];
  const breaker = createBreaker({
    consecutiveFailures: 3,
    failureRatio: 0.5,
    window: 10,
    minimumCalls: 6,
    halfOpenAfterMs: 1000,
    now: () => t,
    onStateChange: (s) => changes.push(s),
    ...overrides,
  });
  const call = (outcome: BreakerOutcome) => {
    const ticket = breaker.tryAcquire();
    if (!ticket) return "refused";
    ticket.end(outcome);
    return ticket.probe ? "probe" : "sent";
  };
  return { breaker, changes, call, advance: (ms: number) => (t += ms) };
}

describe("circuit breaker", () => {
  it("opens after the configured failures in a row, and refuses calls until the pause is over", () => {
    const { breaker, changes, call } = setup();
    expect([call("failure"), call("failure")]).toEqual(["sent", "sent"]);
    expect(breaker.state).toBe("closed");
    call("failure");
    expect(breaker.state).toBe("open");
    expect(changes).toEqual(["open"]);
    expect(call("success")).toBe("refused");
    expect(breaker.available()).toBe(false);
  });

  it("opens when more than the failure ratio of the window failed, once the minimum of calls is reached", () => {
    const { breaker, call } = setup({ consecutiveFailures: 100 });
    for (const o of ["failure", "success", "failure", "success", "failure"] as const) call(o);
    expect(breaker.state).toBe("closed"); // 3 of 5: under the minimum of 6 calls
    call("failure"); // 4 of 6 > 0.5
    expect(breaker.state).toBe("open");
  });

  it("never counts a neutral outcome: a thousand of them in a row leave it closed and do not break a run", () => {
    const { breaker, call } = setup();
    call("failure");
    call("failure");
    for (let i = 0; i < 1000; i++) call("neutral");
    expect(breaker.state).toBe("closed");
    call("failure"); // the third failure in a row: neutral outcomes in between did not reset the run either
    expect(breaker.state).toBe("open");
  });

  it("lets one probe through after the pause: success closes, calls meanwhile are refused", () => {
    const { breaker, changes, call, advance } = setup();
    for (let i = 0; i < 3; i++) call("failure");
    advance(999);
    expect(breaker.available()).toBe(false);
    advance(1);
    expect(breaker.available()).toBe(true);
    const probe = breaker.tryAcquire()!;
    expect(probe.probe).toBe(true);
    expect(breaker.state).toBe("half-open");
    expect(breaker.tryAcquire()).toBeUndefined(); // others do not queue behind the probe
    probe.end("success");
    expect(breaker.state).toBe("closed");
    expect(changes).toEqual(["open", "half-open", "closed"]);
    // The window was reset: two failures do not re-open it.
    call("failure");
    call("failure");
    expect(breaker.state).toBe("closed");
  });

  it("re-opens for another full pause when the probe fails", () => {
    const { breaker, call, advance } = setup();
    for (let i = 0; i < 3; i++) call("failure");
    advance(1000);
    expect(call("failure")).toBe("probe");
    expect(breaker.state).toBe("open");
    advance(999);
    expect(call("success")).toBe("refused");
    advance(1);
    expect(call("success")).toBe("probe");
    expect(breaker.state).toBe("closed");
  });

  it("keeps the circuit open when the probe ends neutral (a client's deadline), and the next call probes at once", () => {
    const { breaker, call, advance } = setup();
    for (let i = 0; i < 3; i++) call("failure");
    advance(1000);
    expect(call("neutral")).toBe("probe");
    expect(breaker.state).toBe("open");
    expect(breaker.available()).toBe(true); // no new pause: nothing was learnt
    expect(call("success")).toBe("probe");
    expect(breaker.state).toBe("closed");
  });

  it("does not count a busy answer (429), but a probe that gets one closes the circuit: the upstream is up", () => {
    const { breaker, call, advance } = setup();
    call("failure");
    call("failure");
    for (let i = 0; i < 100; i++) call("busy");
    call("failure");
    expect(breaker.state).toBe("open");
    advance(1000);
    expect(call("busy")).toBe("probe");
    expect(breaker.state).toBe("closed");
  });

  it("ignores the late outcome of a call admitted before the circuit opened", () => {
    const { breaker, call, advance } = setup();
    const slow = breaker.tryAcquire()!;
    for (let i = 0; i < 3; i++) call("failure");
    advance(1000);
    slow.end("success"); // admitted while closed; the circuit is open now: not a probe's verdict
    expect(breaker.state).toBe("open");
  });
});
