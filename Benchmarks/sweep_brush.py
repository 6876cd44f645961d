#!/usr/bin/env python3
"""Times brushing on the sweep page in headless Chromium: drags along the first axis of
/sweeps/ID's plot REPEAT times (synthetic pointer events, as a mouse makes them) and reports
the medians of (1) the page's own work per brush update (sweep.js' apply: classes on the lines,
rows hidden, the count; `data-apply-ms`), (2) that plus the style and layout it causes (a forced
reflow right after), and (3) the time from the pointermove to the end of the frame that shows it.

    Benchmarks/sweep_brush.py URL [REPEAT]      # URL: http://127.0.0.1:PORT/sweeps/1

Chromium is driven over the DevTools protocol on a pipe (--remote-debugging-pipe: commands on
fd 3, replies on fd 4, each message ended by a NUL), as the tests' Browser.swift does.
"""
import json, os, shutil, statistics, subprocess, sys, tempfile, time

url = sys.argv[1]
repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 50
chromium = shutil.which("chromium") or shutil.which("chromium-browser")
profile = tempfile.mkdtemp(prefix="sweep-brush-")
# bash hands our pipes to Chromium as fds 3 and 4, as Browser.swift does.
proc = subprocess.Popen(
    ["/bin/bash", "-c", 'exec "$0" "$@" 3<&0 4>&1 1>/dev/null 2>/dev/null 0</dev/null', chromium,
     "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
     f"--user-data-dir={profile}", "--window-size=1400,1000"],
    stdin=subprocess.PIPE, stdout=subprocess.PIPE)
to_chrome_w, from_chrome_r = proc.stdin.fileno(), proc.stdout.fileno()
buffer = b""
next_id = 0


def call(method, params=None, session=None):
    global buffer, next_id
    next_id += 1
    message = {"id": next_id, "method": method, "params": params or {}}
    if session:
        message["sessionId"] = session
    os.write(to_chrome_w, json.dumps(message).encode() + b"\0")
    while True:
        while b"\0" not in buffer:
            buffer += os.read(from_chrome_r, 1 << 20)
        raw, buffer = buffer.split(b"\0", 1)
        reply = json.loads(raw)
        if reply.get("id") == next_id:
            if "error" in reply:
                sys.exit(f"{method}: {reply['error']}")
            return reply.get("result", {})


def evaluate(session, expression):
    result = call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                       "awaitPromise": True}, session)
    return result.get("result", {}).get("value")


target = call("Target.createTarget", {"url": url})["targetId"]
session = call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
deadline = time.time() + 60
while not evaluate(session, "Boolean(window.sweepPage) && document.readyState === 'complete'"):
    if time.time() > deadline:
        sys.exit("the page did not load")
    time.sleep(0.1)

samples = evaluate(session, """
(async function () {
  var area = document.querySelector('div.pc:not([hidden]) g.axis rect.brush-area');
  var r = area.getBoundingClientRect(), x = r.left + r.width / 2, out = [];
  var lines = document.querySelectorAll('div.pc:not([hidden]) polyline.trial').length;
  for (var k = 0; k < %d; k++) {
    var y0 = r.bottom - 2 - (k %% 7) * 3, y1 = r.top + r.height * (0.3 + 0.07 * (k %% 9));
    area.dispatchEvent(new PointerEvent('pointerdown', { clientX: x, clientY: y0, bubbles: true }));
    var t0 = performance.now();
    window.dispatchEvent(new PointerEvent('pointermove', { clientX: x, clientY: y1, bubbles: true }));
    // The page's own frame callback runs first; ours after it, in the same frame.
    await new Promise(function (done) { requestAnimationFrame(done); });
    var t1 = performance.now();
    var script = Number(document.getElementById('sweep-body').dataset.applyMs);
    void document.body.offsetHeight;
    var t2 = performance.now();
    await new Promise(function (done) { setTimeout(done, 0); });
    var shown = document.getElementById('pc-shown').textContent;
    out.push([script, script + (t2 - t1), t1 - t0, shown, lines]);
    window.dispatchEvent(new PointerEvent('pointerup', { clientX: x, clientY: y1, bubbles: true }));
    await new Promise(function (done) { requestAnimationFrame(done); });
  }
  return out;
})()
""" % repeat)
call("Browser.close")
proc.wait()
shutil.rmtree(profile, ignore_errors=True)
print(f"{samples[0][4]} lines, {repeat} brush updates, median ms:")
print(f"  apply (script)            {statistics.median(s[0] for s in samples):7.2f}")
print(f"  apply + style and layout  {statistics.median(s[1] for s in samples):7.2f}")
print(f"  pointermove to its frame  {statistics.median(s[2] for s in samples):7.2f}")
print(f"  last count shown: {samples[-1][3]}")
