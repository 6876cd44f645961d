// A run's page: new epochs by server-sent events (each swaps in the re-rendered section,
// and a status change says whether the run is live), and the draw-a-digit pad, which asks
// the server to classify what is drawn.
(function () {
  var holder = document.getElementById('run-section');
  var run = Number(holder.dataset.run);
  var last = Number(holder.dataset.lastEpoch);
  var live = document.getElementById('live');
  var pending = false, again = false;
  function refresh() {
    if (pending) { again = true; return; }
    pending = true;
    fetch('/runs/' + run + '/section').then(function (r) { return r.text(); })
      .then(function (html) {
        holder.innerHTML = html;
        holder.dataset.lastEpoch = String(last);
      }).finally(function () {
        pending = false;
        if (again) { again = false; refresh(); }
      });
  }
  if (window.EventSource) {
    var events = new EventSource('/api/runs/' + run + '/events?status=1&after=' + last);
    events.onmessage = function (e) {
      var epoch = JSON.parse(e.data);
      if (epoch.epoch > last) { last = epoch.epoch; refresh(); }
    };
    events.addEventListener('status', function (e) {
      var status = JSON.parse(e.data).status;
      if (live) live.hidden = status !== 'running';
      if (status !== holder.dataset.status) { holder.dataset.status = status; refresh(); }
    });
  }
  var canvas = document.getElementById('canvas');
  if (!canvas) return;
  var ctx = canvas.getContext('2d');
  function clear() {
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
  }
  clear();
  ctx.strokeStyle = '#fff';
  ctx.lineWidth = 18;
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  var drawing = false, inked = false, timer = null;
  function at(e) {
    var b = canvas.getBoundingClientRect();
    return [(e.clientX - b.left) * canvas.width / b.width,
            (e.clientY - b.top) * canvas.height / b.height];
  }
  function predict() {
    timer = null;
    if (!inked) return;
    canvas.toBlob(function (png) {
      var epoch = document.getElementById('epoch').value;
      fetch('/api/runs/' + run + '/predict?epoch=' + epoch, { method: 'POST', body: png })
        .then(function (r) { return r.json(); })
        .then(function (p) {
          if (!p.probabilities) {
            document.getElementById('label').textContent = '–';
            document.getElementById('pred-epoch').textContent = p.error || '';
            return;
          }
          document.getElementById('label').textContent = String(p.label);
          document.getElementById('pred-epoch').textContent = 'epoch ' + p.epoch;
          var bars = document.querySelectorAll('#bars .bar');
          p.probabilities.forEach(function (q, k) {
            bars[k].querySelector('i').style.width = Math.round(200 * q) + 'px';
            bars[k].querySelector('b').textContent = (100 * q).toFixed(1) + '%';
          });
        });
    }, 'image/png');
  }
  function soon() { if (!timer) timer = setTimeout(predict, 150); }
  canvas.addEventListener('pointerdown', function (e) {
    drawing = true;
    canvas.setPointerCapture(e.pointerId);
    var p = at(e);
    ctx.beginPath();
    ctx.moveTo(p[0], p[1]);
    ctx.lineTo(p[0] + 0.1, p[1]);
    ctx.stroke();
    inked = true;
  });
  canvas.addEventListener('pointermove', function (e) {
    if (!drawing) return;
    var p = at(e);
    ctx.lineTo(p[0], p[1]);
    ctx.stroke();
    soon();
  });
  canvas.addEventListener('pointerup', function () { drawing = false; soon(); });
  document.getElementById('clear').addEventListener('click', function () {
    clear();
    inked = false;
    document.getElementById('label').textContent = '–';
  });
  document.getElementById('epoch').addEventListener('change', soon);
})();
