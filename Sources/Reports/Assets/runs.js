// The runs page: sorting by a header's column, filters, the compare button, and the runs'
// event stream: each event is a run whose row changed (status, progress, best figures) or a
// new run, with its row as the server renders it; an empty row is a deleted run.
(function () {
  var table = document.getElementById('runs-table');
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var status = document.getElementById('f-status');
  var name = document.getElementById('f-name');
  var sweep = document.getElementById('f-sweep');
  var compare = document.getElementById('compare');
  var NAME = 2;
  function filter() {
    var shown = 0, part = name.value.toLowerCase();
    rows.forEach(function (r) {
      var ok = (!status.value || r.dataset.status === status.value) &&
        (!part || r.cells[NAME].textContent.toLowerCase().indexOf(part) >= 0) &&
        (!sweep.value || r.dataset.sweep === sweep.value.trim());
      r.hidden = !ok;
      if (ok) shown++;
    });
    document.getElementById('shown').textContent = shown + ' of ' + rows.length + ' runs';
  }
  [status, name, sweep].forEach(function (e) { e.addEventListener('input', filter); });
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, column) {
    if (!th.dataset.sort) return;
    th.addEventListener('click', function () {
      var numeric = th.dataset.sort === 'num';
      var dir = th.dataset.dir === 'asc' ? -1 : 1;
      th.dataset.dir = dir === 1 ? 'asc' : 'desc';
      // A cell's data-v where its text is rounded, else its text; a number that is
      // missing ("–", "") sorts last either way.
      function key(row) {
        var cell = row.cells[column];
        var v = cell.dataset.v !== undefined ? cell.dataset.v : cell.textContent;
        return numeric ? parseFloat(v) : v;
      }
      var keys = new Map();
      rows.forEach(function (r) { keys.set(r, key(r)); });
      rows.sort(function (a, b) {
        var x = keys.get(a), y = keys.get(b);
        if (numeric) {
          if (isNaN(x) || isNaN(y)) return isNaN(x) - isNaN(y);
          return dir * (x - y);
        }
        return dir * x.localeCompare(y);
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
  function picked() {
    return Array.prototype.filter.call(document.querySelectorAll('.pick'),
      function (c) { return c.checked; }).map(function (c) { return c.value; });
  }
  body.addEventListener('change', function () { compare.disabled = picked().length < 2; });
  compare.addEventListener('click', function () {
    location.href = '/compare?runs=' + picked().join(',');
  });
  if (window.EventSource) {
    var events = new EventSource('/api/runs/events?after=' + table.dataset.after);
    events.onmessage = function (e) {
      var change = JSON.parse(e.data);
      var empty = document.querySelector('#runs p.empty');
      if (empty && change.row) empty.parentNode.removeChild(empty);
      var old = body.querySelector('tr[data-id="' + change.id + '"]');
      var holder = document.createElement('tbody');
      holder.innerHTML = change.row;
      var row = holder.rows[0];
      if (row && old) {
        row.querySelector('.pick').checked = old.querySelector('.pick').checked;
        body.replaceChild(row, old);
        rows[rows.indexOf(old)] = row;
      } else if (row) {
        body.insertBefore(row, body.firstChild);
        rows.unshift(row);
      } else if (old) {
        body.removeChild(old);
        rows.splice(rows.indexOf(old), 1);
      }
      filter();
    };
  }
})();
