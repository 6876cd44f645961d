// A sweep's page: brushing the parallel-coordinates plot (drag along an axis to keep a range,
// several axes combine, a click on an axis clears its range), the trial table following the
// selection ("k of n trials"), hovering a line to name its run and clicking it to open the
// run, the metric on the last axis, and the sweep followed live by server-sent events (each
// change swaps in the re-rendered body; brushes and the metric choice are kept).
// Brushing toggles a class on lines that already exist, once per animation frame; the table
// (a layout of up to 1,000 rows) follows 100 ms after the last move, and at once on release.
(function () {
  var body = document.getElementById('sweep-body');
  var sweep = Number(body.dataset.sweep);
  var brushes = {};     // axis key -> [top, bottom] in the plot's y coordinates
  var metric = 'best_val_loss';
  var plots = [];       // one per metric: its axes and lines
  var rows = [];        // the table's rows, by trial index
  var data = null;      // the figures' JSON (#sweep-data)
  var frame = 0;
  var keep = [];        // by trial index: whether the brushes keep it
  var rowsTimer = 0;
  var each = function (list, f) { Array.prototype.forEach.call(list, f); };

  function point(svg, e) {
    var p = svg.createSVGPoint();
    p.x = e.clientX;
    p.y = e.clientY;
    return p.matrixTransform(svg.getScreenCTM().inverse());
  }

  function setup() {
    data = JSON.parse(document.getElementById('sweep-data').textContent);
    plots = [];
    each(body.querySelectorAll('div.pc'), function (holder) {
      var svg = holder.querySelector('svg');
      var plot = { holder: holder, svg: svg, metric: holder.dataset.metric, axes: [], lines: [] };
      each(svg.querySelectorAll('g.axis'), function (g) {
        var line = g.querySelector('line');
        var axis = {
          key: g.dataset.key, x: Number(line.getAttribute('x1')),
          top: Number(line.getAttribute('y1')), bottom: Number(line.getAttribute('y2')),
          brush: g.querySelector('rect.brush')
        };
        plot.axes.push(axis);
        g.querySelector('rect.brush-area').addEventListener('pointerdown', function (e) {
          drag(plot, axis, e);
        });
      });
      each(svg.querySelectorAll('polyline.trial'), function (el) {
        var ys = {};
        el.getAttribute('points').split(' ').forEach(function (p) {
          var xy = p.split(',');
          var x = Number(xy[0]);
          for (var k = 0; k < plot.axes.length; k++) {
            if (Math.abs(plot.axes[k].x - x) < 0.01) { ys[plot.axes[k].key] = Number(xy[1]); break; }
          }
        });
        plot.lines.push({ el: el, i: Number(el.dataset.i), ys: ys, out: false });
      });
      hover(plot);
      plots.push(plot);
    });
    rows = [];
    each(body.querySelectorAll('#pc-table tbody tr'), function (tr) { rows[Number(tr.dataset.i)] = tr; });
    var select = document.getElementById('pc-metric');
    if (select) {
      if (!select.querySelector('option[value="' + metric + '"]')) metric = 'best_val_loss';
      select.value = metric;
      select.addEventListener('change', function () { metric = select.value; apply(); });
    }
    var clear = document.getElementById('pc-clear');
    if (clear) clear.addEventListener('click', function () { brushes = {}; apply(); });
    apply();
  }

  // Dragging along an axis keeps the range dragged over; a click (no drag) clears the axis.
  function drag(plot, axis, e) {
    e.preventDefault();
    var start = point(plot.svg, e).y;
    var moved = false;
    function clamp(y) { return Math.max(axis.top, Math.min(axis.bottom, y)); }
    function move(e) {
      var y = point(plot.svg, e).y;
      if (Math.abs(y - start) < 3 && !moved) return;
      moved = true;
      brushes[axis.key] = [clamp(Math.min(start, y)), clamp(Math.max(start, y))];
      schedule(true);
    }
    function up(e) {
      window.removeEventListener('pointermove', move);
      window.removeEventListener('pointerup', up);
      if (!moved) delete brushes[axis.key]; else move(e);
      schedule(false);
    }
    window.addEventListener('pointermove', move);
    window.addEventListener('pointerup', up);
  }

  // The lines at the next frame; the rows then too, or 100 ms after the last move of a drag.
  var rowsLater = false;
  function schedule(dragging) {
    rowsLater = dragging;
    if (!frame) frame = requestAnimationFrame(function () { frame = 0; apply(rowsLater); });
  }

  function current() {
    for (var k = 0; k < plots.length; k++) if (plots[k].metric === metric) return plots[k];
    return plots[0];
  }

  // Shows the chosen metric's plot, marks the lines outside a brush (class "out") and hides
  // their rows (`later`: after a pause); only what changed is touched.
  function apply(later) {
    var started = performance.now();
    var plot = current();
    var shown = 0;
    keep = [];
    if (plot) {
      plots.forEach(function (p) { p.holder.hidden = p !== plot; });
      var keys = plot.axes.map(function (a) { return a.key; }).filter(function (k) { return brushes[k]; });
      plot.lines.forEach(function (line) {
        var inside = true;
        for (var k = 0; k < keys.length && inside; k++) {
          var y = line.ys[keys[k]], b = brushes[keys[k]];
          inside = y !== undefined && y >= b[0] - 0.5 && y <= b[1] + 0.5;
        }
        if (inside === line.out) { line.out = !inside; line.el.classList.toggle('out', !inside); }
        if (inside) { keep[line.i] = true; shown++; }
      });
      plot.axes.forEach(function (a) {
        var b = brushes[a.key];
        a.brush.setAttribute('visibility', b ? 'visible' : 'hidden');
        if (b) { a.brush.setAttribute('y', b[0]); a.brush.setAttribute('height', Math.max(1, b[1] - b[0])); }
      });
    }
    var count = document.getElementById('pc-shown');
    if (count) count.textContent = shown + ' of ' + (plot ? plot.lines.length : 0) + ' trials';
    body.dataset.applyMs = (performance.now() - started).toFixed(2);
    clearTimeout(rowsTimer);
    if (later) rowsTimer = setTimeout(applyRows, 100); else applyRows();
  }

  function applyRows() {
    var started = performance.now();
    rows.forEach(function (tr, i) { if (tr && tr.hidden === !!keep[i]) tr.hidden = !keep[i]; });
    body.dataset.rowsMs = (performance.now() - started).toFixed(2);
  }

  // Hovering a line names its trial and run; clicking it opens the run.
  function hover(plot) {
    var tip = document.getElementById('pc-tip');
    var hot = null;
    plot.svg.addEventListener('pointerover', function (e) {
      var el = e.target;
      if (!el.classList || !el.classList.contains('trial') || el.classList.contains('out')) return;
      if (hot) hot.classList.remove('hot');
      hot = el;
      el.classList.add('hot');
      var t = data.trials[Number(el.dataset.i)] || {};
      var value = (t.metrics || {})[plot.metric];
      tip.textContent = 'trial ' + t.number + (t.run_id ? ' · run ' + t.run_id : '') + ' · ' + t.name
        + (value === undefined ? '' : ' · ' + (plot.metric === 'best_val_loss' ? value.toFixed(4) : (100 * value).toFixed(2) + '%'));
      tip.hidden = false;
      tip.style.left = (e.clientX + 14) + 'px';
      tip.style.top = (e.clientY + 14) + 'px';
    });
    plot.svg.addEventListener('pointerout', function (e) {
      if (e.target === hot) { hot.classList.remove('hot'); hot = null; tip.hidden = true; }
    });
    plot.svg.addEventListener('click', function (e) {
      var run = e.target.dataset && e.target.dataset.run;
      if (run && e.target.classList.contains('trial')) window.location.href = '/runs/' + run;
    });
  }

  setup();
  window.sweepPage = { apply: apply, brushes: function () { return brushes; } };

  // Live: each change of the sweep re-renders the body; a finished sweep stops listening.
  var live = document.getElementById('live');
  if (body.dataset.live !== '1' || !window.EventSource) return;
  var events = new EventSource('/api/sweeps/' + sweep + '/events');
  var pending = false, again = false;
  function refresh() {
    if (pending) { again = true; return; }
    pending = true;
    fetch('/sweeps/' + sweep + '/section').then(function (r) { return r.text(); })
      .then(function (html) {
        body.innerHTML = html;
        setup();
        var counts = document.getElementById('sweep-counts');
        if (counts && counts.dataset.live !== '1') {
          body.dataset.live = '0';
          if (live) live.hidden = true;
          events.close();
        }
      }).finally(function () {
        pending = false;
        if (again) { again = false; refresh(); }
      });
  }
  events.onmessage = refresh;
})();
