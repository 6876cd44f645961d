#!/usr/bin/env python3
"""Times brushing on the sweep page in headless Chromium: drags along the first axis of
/sweeps/ID's plot in 5 drags of REPEAT pointer moves each (synthetic pointer events, one per frame, as a mouse
makes them) and reports the medians of (1) the page's own work per move (sweep.js' apply:
classes on the lines, the count; `data-apply-ms`), (2) that plus the style and layout it causes
(a forced reflow right after), (3) the time from one frame to the next while dragging (16.7 ms
at 60 frames a second), and (4) the table following on release (rows hidden or shown,
`data-rows-ms`, and their layout).

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
  var r = area.getBoundingClientRect(), x = r.left + r.width / 2, out = [], frames = [], tables = [];
  var lines = document.querySelectorAll('div.pc:not([hidden]) polyline.trial').length;
  var body = document.getElementById('sweep-body');
  function frame() { return new Promise(function (done) { requestAnimationFrame(done); }); }
  for (var drag = 0; drag < 5; drag++) {
    var y0 = r.bottom - 2 - drag * 3;
    area.dispatchEvent(new PointerEvent('pointerdown', { clientX: x, clientY: y0, bubbles: true }));
    await frame();
    var last = performance.now();
    for (var k = 0; k < %d; k++) {
      var y1 = r.top + r.height * (0.9 - (0.3 + 0.1 * drag) * k / %d);
      window.dispatchEvent(new PointerEvent('pointermove', { clientX: x, clientY: y1, bubbles: true }));
      // The page's frame callback runs first; ours after it, in the same frame.
      await frame();
      var t1 = performance.now();
      var script = Number(body.dataset.applyMs);
      void document.body.offsetHeight;
      out.push([script, script + (performance.now() - t1)]);
      frames.push(t1 - last);
      last = t1;
    }
    window.dispatchEvent(new PointerEvent('pointerup', { clientX: x, clientY: y1, bubbles: true }));
    // On release the table follows at the next frame: its rows, then their layout.
    await frame();
    var t3 = performance.now();
    void document.body.offsetHeight;
    tables.push(Number(body.dataset.rowsMs) + (performance.now() - t3));
  }
  return { moves: out, frames: frames, tables: tables, lines: lines,
           shown: document.getElementById('pc-shown').textContent };
})()
""" % (repeat, repeat))
call("Browser.close")
proc.wait()
shutil.rmtree(profile, ignore_errors=True)
moves = samples["moves"]
print(f"{samples['lines']} lines, 5 drags of {repeat} moves, median ms:")
print(f"  apply per move (script)       {statistics.median(m[0] for m in moves):7.2f}")
print(f"  apply + style and layout      {statistics.median(m[1] for m in moves):7.2f}")
print(f"  frame to frame while dragging {statistics.median(samples['frames']):7.2f}")
print(f"  table on release + layout     {statistics.median(samples['tables']):7.2f}")
print(f"  count shown after the last: {samples['shown']}")
