/* yulin_gis compact map layers (our own code on Leaflet's public API; MIT like the package).
   window.yulinCompact(map) returns the map's controller: .layer(data) makes a Leaflet layer from
   one encoded layer written by yulin_gis.mapelements (format: yulin_gis/mapjs.py); .legend(),
   .styleSwitch(), .searchControl(), .title(text) and .raster(layer, record) add the controls. */
(function () {
  'use strict';
  if (window.yulinCompact) { return; }
  var T = new Int8Array(128), FINAL = 70, CONT = 19, a, k = 0;
  for (a = 0x21; a < 0x7f; a++) {
    if ('"\\<>&'.indexOf(String.fromCharCode(a)) < 0) { T[a] = k++; }
  }

  function dec(s, zig) {
    var out = new Float64Array(s.length), n = 0, v = 0, m = 1;
    for (var i = 0; i < s.length; i++) {
      var c = T[s.charCodeAt(i)];
      if (c >= FINAL) { v += (c - FINAL) * m; m *= CONT; }
      else {
        v += c * m;
        out[n++] = zig ? ((v % 2) ? -(v + 1) / 2 : v / 2) : v;
        v = 0; m = 1;
      }
    }
    return out.subarray(0, n);
  }
  function el(tag, cls, text, parent) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    if (parent) { parent.appendChild(e); }
    return e;
  }
  function stop(div) {
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
  }

  /* Canvas renderer for layers that keep one Leaflet object per feature on canvas maps
     (labelled layers): it batches features of one style into a few paths (Leaflet's own
     canvas fills and strokes every feature separately). Hit-testing stays Leaflet's. */
  function tracePath(ctx, layer) {
    var p, i, j, ring;
    if (layer instanceof L.CircleMarker) {
      if (layer._empty()) { return; }
      var r = Math.max(Math.round(layer._radius), 1);
      p = layer._point;
      ctx.moveTo(p.x + r, p.y);
      ctx.arc(p.x, p.y, r, 0, Math.PI * 2, false);
      return;
    }
    var parts = layer._parts, closed = layer instanceof L.Polygon;
    for (i = 0; i < parts.length; i++) {
      ring = parts[i];
      for (j = 0; j < ring.length; j++) {
        p = ring[j];
        if (j) { ctx.lineTo(p.x, p.y); } else { ctx.moveTo(p.x, p.y); }
      }
      if (closed) { ctx.closePath(); }
    }
  }
  var CHUNK = 64;  /* features per path: huge paths rasterise slowly, tiny ones repeat state */
  var BatchCanvas = L.Canvas.extend({
    _draw: function () {
      var bounds = this._redrawBounds, ctx = this._ctx, groups = {}, keys = [], k, o;
      ctx.save();
      if (bounds) {
        var size = bounds.getSize();
        ctx.beginPath();
        ctx.rect(bounds.min.x, bounds.min.y, size.x, size.y);
        ctx.clip();
      }
      for (var order = this._drawFirst; order; order = order.next) {
        var layer = order.layer;
        if (bounds && !(layer._pxBounds && layer._pxBounds.intersects(bounds))) { continue; }
        o = layer.options;
        k = o.fillColor + '|' + o.color + '|' + o.weight + '|' + o.opacity + '|' +
            o.fillOpacity + '|' + o.fill + '|' + o.stroke;
        if (!groups[k]) { groups[k] = []; keys.push(k); }
        groups[k].push(layer);
      }
      for (var g = 0; g < keys.length; g++) {
        var list = groups[keys[g]];
        for (var c0 = 0; c0 < list.length; c0 += CHUNK) {
          ctx.beginPath();
          for (var f = c0; f < Math.min(c0 + CHUNK, list.length); f++) { tracePath(ctx, list[f]); }
          this._fillStroke(ctx, list[0]);
        }
      }
      ctx.restore();
    }
  });
  /* ---------- vector layers ---------- */
  function classStyles(LD, opt) {
    var p = LD.paint;
    return opt.classes.map(function (c) {
      var s = {renderer: LD._renderer, color: p.stroke || c.color, weight: p.weight,
               opacity: p.opacity, fillColor: c.color, fillOpacity: p.fillOpacity,
               fillRule: 'nonzero', interactive: LD.interactive};  /* rings oriented in Python */
      if (LD.kind === 'line') { s.color = c.color; s.fill = false; }
      if (LD.kind === 'point') { s.radius = p.radius; }
      return s;
    });
  }
  function optCodes(opt, n) {
    if (!opt._codes) { opt._codes = opt.codes ? dec(opt.codes, false) : new Float64Array(n); }
    return opt._codes;
  }
  function fieldCode(F, f) {
    if (!F._codes && F.codes) { F._codes = dec(F.codes, false); }
    return F._codes ? F._codes[f] : f;
  }
  /* distinct values; "fc" fields store each as (shared prefix, shared suffix, middle) */
  function fieldDict(F) {
    if (F.fc && !F._dict) {
      var prev = '';
      F._dict = F.dict.map(function (v) {
        if (v === null) { return null; }
        var p = v.charCodeAt(0) - 48, q = v.charCodeAt(1) - 48;
        prev = prev.slice(0, p) + v.slice(2) + (q ? prev.slice(prev.length - q) : '');
        return prev;
      });
    }
    return F._dict || F.dict;
  }
  function fieldValue(F, f) {
    var v = fieldDict(F)[fieldCode(F, f)];
    return (v === null || v === undefined || v === '') ? '—' : v;
  }
  function infoNode(LD, f, which, title) {
    var box = el('div', 'yl-tip');
    if (title) { el('b', null, LD.name, box); }
    var tb = el('table', null, null, box);
    LD[which].forEach(function (pair) {
      var F = LD.fields[pair[0]], tr = el('tr', null, null, tb);
      el('th', null, pair[1], tr);
      el('td', null, fieldValue(F, f), tr);
    });
    return box;
  }

  function decodeFeatures(LD) {
    var g = LD.geom, sc = g.scale, C = dec(g.c, true);
    var P = g.p ? dec(g.p, false) : null, R = g.r ? dec(g.r, false) : null;
    var V = g.v ? dec(g.v, false) : null;
    var ci = 0, pi = 0, vi = 0, x = 0, y = 0, out = new Array(LD.n);
    for (var f = 0; f < LD.n; f++) {
      var np = P ? P[f] : 1, parts = new Array(np);
      for (var p = 0; p < np; p++) {
        if (LD.kind === 'point') {
          x += C[ci++]; y += C[ci++]; parts[p] = new L.LatLng(y / sc, x / sc);
          continue;
        }
        var nr = (LD.kind === 'polygon') ? (R ? R[pi++] : 1) : 1, rings = new Array(nr);
        for (var r = 0; r < nr; r++) {
          var nv = V[vi++], ring = new Array(nv);
          for (var k = 0; k < nv; k++) {
            x += C[ci++]; y += C[ci++]; ring[k] = new L.LatLng(y / sc, x / sc);
          }
          rings[r] = ring;
        }
        parts[p] = LD.kind === 'polygon' ? rings : rings[0];
      }
      out[f] = np === 1 ? parts[0] : parts;
    }
    return out;
  }

  /* ---------- packed layers: many features without one Leaflet object each ----------
     Coordinates stay in typed arrays (Web Mercator metres), are projected to pixels on each
     view change and drawn class by class on one canvas; hit-testing uses a uniform grid.
     Creating tens of thousands of L.Polygon objects is what makes big Leaflet maps slow
     (mostly garbage collection), so layers of canvas maps take this path. */
  var RE = 6378137, D2R = Math.PI / 180;
  function mercY(lat) {
    lat = Math.max(Math.min(85.0511287798, lat), -85.0511287798);
    var s = Math.sin(lat * D2R);
    return RE * Math.log((1 + s) / (1 - s)) / 2;
  }
  function unmerc(x, y) {
    return L.latLng((2 * Math.atan(Math.exp(y / RE)) - Math.PI / 2) / D2R, x / RE / D2R);
  }
  function packGeometry(LD) {
    var g = LD.geom, sc = g.scale, C = dec(g.c, true), n = LD.n, kind = LD.kind;
    var P = g.p ? dec(g.p, false) : null, R = g.r ? dec(g.r, false) : null;
    var V = g.v ? dec(g.v, false) : null, nv = C.length / 2;
    var MX = new Float64Array(nv), MY = new Float64Array(nv), x = 0, y = 0, i;
    for (i = 0; i < nv; i++) {
      x += C[2 * i]; y += C[2 * i + 1];
      MX[i] = RE * (x / sc) * D2R; MY[i] = mercY(y / sc);
    }
    var nRings = kind === 'point' ? 0 : V.length, ringOff = new Int32Array(nRings + 1);
    var featRing = new Int32Array(n + 1), pi = 0, ri = 0, v = 0;
    for (i = 0; i < nRings; i++) { ringOff[i] = v; v += V[i]; }
    ringOff[nRings] = v;
    for (var f = 0; f < n; f++) {
      featRing[f] = ri;
      if (kind === 'point') { continue; }
      var np = P ? P[f] : 1;
      for (var p = 0; p < np; p++) { ri += (kind === 'polygon' && R) ? R[pi++] : 1; }
    }
    featRing[n] = ri;
    var B = new Float64Array(4 * n);
    for (f = 0; f < n; f++) {
      var v0 = kind === 'point' ? f : ringOff[featRing[f]];
      var v1 = kind === 'point' ? f + 1 : ringOff[featRing[f + 1]];
      var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      for (i = v0; i < v1; i++) {
        if (MX[i] < x0) { x0 = MX[i]; } if (MX[i] > x1) { x1 = MX[i]; }
        if (MY[i] < y0) { y0 = MY[i]; } if (MY[i] > y1) { y1 = MY[i]; }
      }
      B[4 * f] = x0; B[4 * f + 1] = y0; B[4 * f + 2] = x1; B[4 * f + 3] = y1;
    }
    return {MX: MX, MY: MY, ringOff: ringOff, featRing: featRing, B: B};
  }

  var PackedLayer = L.Layer.extend({
    initialize: function (LD, R) {
      this.LD = LD; this.R = R; this.G = packGeometry(LD); this.painted = 0;
      this.PX = new Float32Array(this.G.MX.length); this.PY = new Float32Array(this.G.MX.length);
      this.setOption(LD.styleIdx, true);
    },
    setOption: function (si, quiet) {
      var LD = this.LD, opt = LD.styles[si], codes = optCodes(opt, LD.n), nc = opt.classes.length;
      var count = new Int32Array(nc + 1), f;
      for (f = 0; f < LD.n; f++) { count[codes[f] + 1]++; }
      for (f = 0; f < nc; f++) { count[f + 1] += count[f]; }
      var order = new Int32Array(LD.n), pos = count.slice(0, nc);
      for (f = 0; f < LD.n; f++) { order[pos[codes[f]]++] = f; }
      this.order = order; this.classStart = count; this.styles = classStyles(LD, opt);
      if (!quiet && this._map) { this.R.refresh(); }
    },
    onAdd: function () { this.R.add(this); },
    onRemove: function () { this.R.remove(this); },
    project: function (k, cx, cy) {
      var MX = this.G.MX, MY = this.G.MY, PX = this.PX, PY = this.PY;
      for (var i = 0; i < MX.length; i++) { PX[i] = k * MX[i] + cx; PY[i] = cy - k * MY[i]; }
    },
    draw: function (ctx, view, k) {
      var G = this.G, B = G.B, PX = this.PX, PY = this.PY, kind = this.LD.kind;
      var painted = 0, rOff = G.ringOff, fR = G.featRing;
      /* last class first: the first legend class (usually the most important) ends on top */
      for (var c = this.styles.length - 1; c >= 0; c--) {
        var s = this.styles[c], a = this.classStart[c], b = this.classStart[c + 1], inPath = 0;
        ctx.beginPath();
        for (var j = a; j < b; j++) {
          var f = this.order[j];
          if (B[4 * f + 2] < view[0] || B[4 * f] > view[2] || B[4 * f + 3] < view[1] ||
              B[4 * f + 1] > view[3]) { continue; }
          painted++; inPath++;
          if (kind === 'point') {
            ctx.moveTo(PX[f] + s.radius, PY[f]);
            ctx.arc(PX[f], PY[f], s.radius, 0, Math.PI * 2, false);
          } else {
            for (var r = fR[f]; r < fR[f + 1]; r++) {
              /* skip vertices closer than 1 px to the last one drawn (radial simplification) */
              var v0 = rOff[r], v1 = rOff[r + 1], lx = PX[v0], ly = PY[v0], x, y, dx, dy;
              ctx.moveTo(lx, ly);
              for (var v = v0 + 1; v < v1; v++) {
                x = PX[v]; y = PY[v]; dx = x - lx; dy = y - ly;
                if (dx * dx + dy * dy < 1) { continue; }
                ctx.lineTo(x, y); lx = x; ly = y;
              }
              if (kind === 'polygon') { ctx.closePath(); }
              else if (lx !== PX[v1 - 1] || ly !== PY[v1 - 1]) { ctx.lineTo(PX[v1 - 1], PY[v1 - 1]); }
            }
          }
          if (inPath === CHUNK) { fillStroke(ctx, s, kind); ctx.beginPath(); inPath = 0; }
        }
        if (inPath) { fillStroke(ctx, s, kind); }
      }
      this.painted = painted;
    },
    /* index of the top feature under mercator point (x, y) within tol metres, or -1 */
    hit: function (x, y, tol) {
      if (!this.grid) { this.grid = buildGrid(this.G.B, this.LD.n); }
      var gr = this.grid, cx = Math.floor((x - gr.x0) / gr.cw), cy = Math.floor((y - gr.y0) / gr.ch);
      if (cx < 0 || cy < 0 || cx >= gr.nx || cy >= gr.ny) { return -1; }
      var cell = cy * gr.nx + cx, B = this.G.B, best = -1;
      for (var i = gr.start[cell]; i < gr.start[cell + 1]; i++) {
        var f = gr.items[i];
        if (x < B[4 * f] - tol || x > B[4 * f + 2] + tol || y < B[4 * f + 1] - tol ||
            y > B[4 * f + 3] + tol) { continue; }
        if (f > best && this.contains(f, x, y, tol)) { best = f; }
      }
      return best;
    },
    contains: function (f, x, y, tol) {
      var G = this.G, MX = G.MX, MY = G.MY, kind = this.LD.kind, inside = false;
      if (kind === 'point') {
        var dx = MX[f] - x, dy = MY[f] - y;
        return dx * dx + dy * dy <= tol * tol;
      }
      for (var r = G.featRing[f]; r < G.featRing[f + 1]; r++) {
        var v0 = G.ringOff[r], v1 = G.ringOff[r + 1];
        for (var i = v0, j = v1 - 1; i < v1; j = i++) {
          if (kind === 'line' && i === v0) { continue; }
          var xi = MX[i], yi = MY[i], xj = MX[j], yj = MY[j];
          if (kind === 'polygon') {
            if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) { inside = !inside; }
          } else if (segDist2(x, y, xj, yj, xi, yi) <= tol * tol) { return true; }
        }
      }
      return inside;
    },
    latlngs: function (f) {
      var G = this.G, out = [];
      if (this.LD.kind === 'point') { return unmerc(G.MX[f], G.MY[f]); }
      for (var r = G.featRing[f]; r < G.featRing[f + 1]; r++) {
        var ring = [];
        for (var v = G.ringOff[r]; v < G.ringOff[r + 1]; v++) { ring.push(unmerc(G.MX[v], G.MY[v])); }
        out.push(ring);
      }
      return out;
    },
    bounds: function (f) {
      var B = this.G.B;
      return L.latLngBounds(unmerc(B[4 * f], B[4 * f + 1]), unmerc(B[4 * f + 2], B[4 * f + 3]));
    }
  });
  function segDist2(px, py, ax, ay, bx, by) {
    var dx = bx - ax, dy = by - ay, l2 = dx * dx + dy * dy;
    var t = l2 ? Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / l2)) : 0;
    var ex = ax + t * dx - px, ey = ay + t * dy - py;
    return ex * ex + ey * ey;
  }
  function fillStroke(ctx, s, kind) {
    if (kind !== 'line') {
      ctx.globalAlpha = s.fillOpacity; ctx.fillStyle = s.fillColor; ctx.fill('nonzero');
    }
    if (s.weight > 0) {
      ctx.globalAlpha = s.opacity; ctx.lineWidth = s.weight; ctx.strokeStyle = s.color;
      ctx.lineCap = 'round'; ctx.lineJoin = 'round'; ctx.stroke();
    }
  }
  function buildGrid(B, n) {
    var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity, f, i, j;
    for (f = 0; f < n; f++) {
      x0 = Math.min(x0, B[4 * f]); y0 = Math.min(y0, B[4 * f + 1]);
      x1 = Math.max(x1, B[4 * f + 2]); y1 = Math.max(y1, B[4 * f + 3]);
    }
    var side = Math.max(1, Math.min(512, Math.ceil(Math.sqrt(n / 2))));
    var gr = {x0: x0, y0: y0, nx: side, ny: side, cw: (x1 - x0) / side || 1,
              ch: (y1 - y0) / side || 1};
    var cnt = new Int32Array(side * side + 1);
    function span(f, cb) {
      var a = Math.max(0, Math.floor((B[4 * f] - x0) / gr.cw)), b = Math.min(side - 1, Math.floor((B[4 * f + 2] - x0) / gr.cw));
      var c = Math.max(0, Math.floor((B[4 * f + 1] - y0) / gr.ch)), d = Math.min(side - 1, Math.floor((B[4 * f + 3] - y0) / gr.ch));
      for (j = c; j <= d; j++) { for (i = a; i <= b; i++) { cb(j * side + i); } }
    }
    for (f = 0; f < n; f++) { span(f, function (cell) { cnt[cell + 1]++; }); }
    for (i = 0; i < side * side; i++) { cnt[i + 1] += cnt[i]; }
    var items = new Int32Array(cnt[side * side]), pos = cnt.slice(0, side * side);
    for (f = 0; f < n; f++) { span(f, function (cell) { items[pos[cell]++] = f; }); }
    gr.start = cnt; gr.items = items;
    return gr;
  }

  /* The renderer: Leaflet's canvas handles panning, zoom animation and sizing; we draw. */
  var PackedCanvas = L.Canvas.extend({
    initialize: function (options) {
      L.Canvas.prototype.initialize.call(this, options);
      this._packed = [];
      this.on('update', this.refresh, this);
    },
    onAdd: function () { L.Renderer.prototype.onAdd.call(this); },
    add: function (PL) {
      this._packed.push(PL);
      if (!this._map) { this.options.map.addLayer(this); } else { this.refresh(); }
      /* paint again once the view has settled (the first fit may come after the add) */
      L.Util.requestAnimFrame(this.refresh, this);
    },
    remove: function (PL) {
      this.options.onRemove(PL);
      this._packed = this._packed.filter(function (q) { return q !== PL; });
      this.refresh();
    },
    refresh: function () {
      if (!this._map || !this._bounds) { return; }
      var m = this._map, S = m.options.crs.scale(m.getZoom()), k = S * 0.5 / (Math.PI * RE);
      var o = m.getPixelOrigin(), b = this._bounds, cx = S * 0.5 - o.x, cy = S * 0.5 - o.y;
      var view = [(b.min.x - cx) / k, (cy - b.max.y) / k, (b.max.x - cx) / k, (cy - b.min.y) / k];
      this._redrawBounds = null;
      this._clear();
      var ctx = this._ctx;
      ctx.save();
      this._packed.forEach(function (PL) { PL.project(k, cx, cy); PL.draw(ctx, view, k); });
      ctx.restore();
      this._k = k;
    },
    /* Leaflet's own redraw (_redraw = _clear + _draw) must repaint the packed layers too,
       or whatever asked for it would leave an empty canvas */
    _draw: function () { if (this._packed.length && this._map && this._bounds) { this.refresh(); } }
  });

  /* ---------- one controller per map: layers, hover, legend, style switch, search ---------- */
  function controller(map) {
    var TT = {start: performance.now()};  /* timings (ms since navigation) for benchmarks */
    var C = {map: map, layers: [], rasters: [], ready: false, t: TT};
    var svg = L.svg({padding: 0.5}), batch = null, hlRenderer = L.svg({padding: 0.1});
    var hover = {tip: L.tooltip({className: 'yl-tipbox', direction: 'top', offset: [0, -6]}),
                 LD: null, f: -1, hl: null};
    var packedR = new PackedCanvas({padding: 0.5, map: map, onRemove: function (PL) {
      if (hover.LD && hover.LD.group === PL) { clearHover(); }
    }});
    var legendDiv = null, LEGEND_MAX = 30;

    function packedHit(latlng) {
      var x = RE * latlng.lng * D2R, y = mercY(latlng.lat), tolPx = 3, k = packedR._k || 1;
      for (var i = C.layers.length - 1; i >= 0; i--) {
        var LD = C.layers[i];
        if (!LD.packed || !LD.interactive || !map.hasLayer(LD.group)) { continue; }
        var tol = (LD.kind === 'point' ? LD.paint.radius + tolPx : tolPx) / k;
        var f = LD.group.hit(x, y, LD.kind === 'polygon' ? 0 : tol);
        if (f >= 0) { return {LD: LD, f: f}; }
      }
      return null;
    }
    function clearHover() {
      if (hover.hl) { map.removeLayer(hover.hl); hover.hl = null; }
      if (map.hasLayer(hover.tip)) { map.removeLayer(hover.tip); }
      hover.LD = null; hover.f = -1;
      map.getContainer().style.cursor = '';
    }
    function highlight(LD, f) {
      var s = LD.group.styles[optCodes(LD.styles[LD.styleIdx], LD.n)[f]];
      var opts = {color: s.color, weight: LD.paint.weight + 2, fill: false, interactive: false,
                  renderer: hlRenderer};
      var ll = LD.group.latlngs(f);
      if (LD.kind === 'point') { return L.circleMarker(ll, L.extend(opts, {radius: s.radius + 2})); }
      return LD.kind === 'polygon' ? L.polygon(ll, opts) : L.polyline(ll, opts);
    }
    var pending = null;
    map.on('mousemove', function (e) {
      if (pending) { return; }
      pending = L.Util.requestAnimFrame(function () {
        pending = null;
        var h = packedHit(e.latlng);
        if (!h) { if (hover.LD) { clearHover(); } return; }
        if (h.LD !== hover.LD || h.f !== hover.f) {
          clearHover();
          hover.LD = h.LD; hover.f = h.f;
          hover.hl = highlight(h.LD, h.f).addTo(map);
          if (h.LD.tooltip.length) { hover.tip.setContent(infoNode(h.LD, h.f, 'tooltip', false)); }
          map.getContainer().style.cursor = 'pointer';
        }
        if (h.LD.tooltip.length) {
          hover.tip.setLatLng(e.latlng);
          if (!map.hasLayer(hover.tip)) { hover.tip.addTo(map); }
        }
      });
    });
    map.on('mouseout', function () { clearHover(); });
    map.on('click', function (e) {
      var h = packedHit(e.latlng);
      if (h && h.LD.popup.length) {
        L.popup({maxWidth: 360}).setLatLng(e.latlng)
          .setContent(infoNode(h.LD, h.f, 'popup', true)).openOn(map);
      }
    });

    function buildLayer(LD) {
      var geoms = decodeFeatures(LD), opt = LD.styles[LD.styleIdx];
      var styles = classStyles(LD, opt), codes = optCodes(opt, LD.n);
      var feats = new Array(LD.n);
      for (var f = 0; f < LD.n; f++) {
        var s = styles[codes[f]], lyr;
        if (LD.kind === 'point') { lyr = L.circleMarker(geoms[f], s); }
        else if (LD.kind === 'polygon') { lyr = L.polygon(geoms[f], s); }
        else { lyr = L.polyline(geoms[f], s); }
        lyr._yf = f;
        feats[f] = lyr;
      }
      LD.feats = feats;
      var group = L.featureGroup(feats);
      if (LD.tooltip.length) {
        group.bindTooltip(function (l) { return infoNode(LD, l._yf, 'tooltip', false); },
                          {sticky: true, className: 'yl-tipbox'});
      }
      if (LD.popup.length) {
        group.bindPopup(function (l) { return infoNode(LD, l._yf, 'popup', true); },
                        {maxWidth: 360});
      }
      if (LD.label !== null && LD.n <= 2000) {
        feats.forEach(function (l) {
          var t = fieldValue(LD.fields[LD.label], l._yf);
          l.bindTooltip(el('span', null, t), {permanent: true, direction: 'center',
                                               className: 'yl-label', interactive: false});
        });
      }
      group.on('mouseover', function (e) {
        var l = e.propagatedFrom || e.layer;
        if (l && l.setStyle) { l.setStyle({weight: LD.paint.weight + 2}); }
      });
      group.on('mouseout', function (e) {
        var l = e.propagatedFrom || e.layer;
        if (l && l.setStyle) { l.setStyle({weight: LD.paint.weight}); }
      });
      LD.group = group;
      return group;
    }
    function ensureGroup(LD) {
      if (!LD.group && LD.canvas && LD.label === null) {
        LD.packed = true;
        LD.group = new PackedLayer(LD, packedR);
      }
      return LD.group || buildLayer(LD);
    }
    function setStyleOption(LD, si) {
      LD.styleIdx = si;
      if (!LD.group) { return; }
      if (LD.packed) { LD.group.setOption(si); clearHover(); return; }
      var opt = LD.styles[si], styles = classStyles(LD, opt), codes = optCodes(opt, LD.n);
      for (var f = 0; f < LD.n; f++) { LD.feats[f].setStyle(styles[codes[f]]); }
    }
    /* what folium and its layer control hold: a light layer that builds the features on first display */
    var Compact = L.Layer.extend({
      initialize: function (LD) { this.LD = LD; },
      onAdd: function (m) { m.addLayer(ensureGroup(this.LD)); refreshLegend(); },
      onRemove: function (m) { if (this.LD.group) { m.removeLayer(this.LD.group); } refreshLegend(); },
      getBounds: function () { return L.latLngBounds(this.LD.bounds); }
    });
    C.layer = function (LD) {
      LD.styleIdx = 0;
      if (LD.canvas && !batch) { batch = new BatchCanvas({padding: 0.5, tolerance: 2}); }
      LD._renderer = LD.canvas ? batch : svg;
      LD.wrapper = new Compact(LD);
      C.layers.push(LD);
      refreshSwitch();
      return LD.wrapper;
    };
    C.raster = function (layer, R) {
      R.layer = layer; C.rasters.push(R);
      map.on('layeradd layerremove', function (e) { if (e.layer === layer) { refreshLegend(); } });
      refreshLegend();
    };
    C.title = function (text) {
      var Title = L.Control.extend({options: {position: 'topright'}, onAdd: function () {
        return el('div', 'yl-box yl-title', text);
      }});
      new Title().addTo(map);
    };

    /* ---------- legend ---------- */
    function refreshLegend() {
      if (!legendDiv) { return; }
      legendDiv.textContent = '';
      var any = false;
      C.layers.forEach(function (LD) {
        if (!LD.n || !LD.group || !map.hasLayer(LD.group)) { return; }
        var opt = LD.styles[LD.styleIdx];
        any = true;
        el('h4', null, opt.title ? LD.name + ' · ' + opt.title : LD.name, legendDiv);
        opt.classes.forEach(function (c, i) {
          if (i === LEGEND_MAX) { el('div', 'yl-row', '… 共 ' + opt.classes.length + ' 类', legendDiv); }
          if (i >= LEGEND_MAX) { return; }
          var row = el('div', 'yl-row', null, legendDiv), sw = el('span', 'yl-sw', null, row);
          sw.style.background = c.color;
          el('span', null, c.count === null ? c.label : c.label + '（' + c.count + '）', row);
        });
      });
      C.rasters.forEach(function (R) {
        if (!R.legend || !map.hasLayer(R.layer)) { return; }
        any = true;
        el('h4', null, R.name, legendDiv);
        var g = el('div', 'yl-grad', null, legendDiv);
        g.style.background = 'linear-gradient(to right,' + R.legend.colors.join(',') + ')';
        el('div', 'yl-row', R.legend.low + ' — ' + R.legend.high, legendDiv);
      });
      legendDiv.style.display = any ? '' : 'none';
    }
    C.legend = function (position) {
      var Legend = L.Control.extend({options: {position: position || 'bottomright'}, onAdd: function () {
        legendDiv = el('div', 'yl-box yl-legend');
        stop(legendDiv);
        return legendDiv;
      }});
      new Legend().addTo(map);
      refreshLegend();
    };

    /* ---------- style switch ("按…分类显示"), rebuilt when a layer is registered ---------- */
    var switchDiv = null;
    function refreshSwitch() {
      if (!switchDiv) { return; }
      switchDiv.textContent = '';
      var any = false;
      el('h4', null, '分类显示', switchDiv);
      C.layers.forEach(function (LD) {
        if (LD.styles.length < 2) { return; }
        any = true;
        el('div', null, LD.name, switchDiv);
        var sel = el('select', null, null, switchDiv);
        sel.title = LD.name + '：分类显示';
        LD.styles.forEach(function (o, i) {
          var op = el('option', null, '按' + o.title, sel); op.value = String(i);
        });
        sel.value = String(LD.styleIdx);
        L.DomEvent.on(sel, 'change', function () {
          setStyleOption(LD, parseInt(sel.value, 10)); refreshLegend();
        });
      });
      switchDiv.style.display = any ? '' : 'none';
    }
    C.styleSwitch = function (position) {
      var Panel = L.Control.extend({options: {position: position || 'topright'}, onAdd: function () {
        switchDiv = el('div', 'yl-box yl-panel');
        stop(switchDiv);
        refreshSwitch();
        return switchDiv;
      }});
      new Panel().addTo(map);
    };

    /* ---------- search over the compact layers (offline, substring) ---------- */
    function searchData(text, limit) {
      var q = String(text).trim().toLowerCase(), hits = [];
      if (!q) { return hits; }
      C.layers.forEach(function (LD) {
        LD.search.forEach(function (k) {
          var F = LD.fields[k];
          var dict = fieldDict(F), match = dict.map(function (v) {
            return v !== null && String(v).toLowerCase().indexOf(q) >= 0;
          });
          for (var f = 0; f < LD.n && hits.length < limit; f++) {
            if (match[fieldCode(F, f)]) { hits.push({layer: LD, f: f, text: dict[fieldCode(F, f)]}); }
          }
        });
      });
      return hits;
    }
    function showFeature(LD, f) {
      if (!map.hasLayer(LD.wrapper)) { map.addLayer(LD.wrapper); }
      var at;
      if (LD.packed) {
        var bb = LD.group.bounds(f);
        at = bb.getCenter();
        if (LD.kind === 'point') { map.setView(at, Math.max(map.getZoom(), 17)); }
        else { map.fitBounds(bb, {maxZoom: 18}); }
      } else {
        var l = LD.feats[f];
        if (LD.kind === 'point') { map.setView(l.getLatLng(), Math.max(map.getZoom(), 17)); }
        else { map.fitBounds(l.getBounds(), {maxZoom: 18}); }
        at = l.getBounds ? l.getBounds().getCenter() : l.getLatLng();
      }
      L.popup({maxWidth: 360}).setLatLng(at)
        .setContent(infoNode(LD, f, LD.popup.length ? 'popup' : 'tooltip', true)).openOn(map);
    }
    C.searchControl = function (position, placeholder) {
      var Search = L.Control.extend({options: {position: position || 'topleft'}, onAdd: function () {
        var div = el('div', 'yl-box yl-search'), inp = el('input', null, null, div);
        var res = el('div', 'yl-results', null, div);
        inp.type = 'search'; inp.placeholder = placeholder || '搜索名称…';
        stop(div);
        var timer = null;
        L.DomEvent.on(inp, 'input', function () {
          clearTimeout(timer);
          timer = setTimeout(function () {
            res.textContent = '';
            searchData(inp.value, 20).forEach(function (h) {
              var item = el('div', null, h.text + ' · ' + h.layer.name, res);
              L.DomEvent.on(item, 'click', function () { showFeature(h.layer, h.f); });
            });
          }, 150);
        });
        return div;
      }});
      new Search().addTo(map);
    };

    /* ---------- for tests, benchmarks and embedding ---------- */
    C.stats = function () {
      var out = {layers: {}, written: 0, drawn: 0, painted: 0, leaflet: L.version,
                 canvas: C.layers.some(function (LD) { return LD.canvas; }), rasters: 0};
      C.layers.forEach(function (LD) {
        var drawn = 0, painted = 0;
        if (LD.packed && map.hasLayer(LD.group)) {
          drawn = LD.n; painted = LD.group.painted;
        } else if (LD.group && map.hasLayer(LD.group)) {
          LD.feats.forEach(function (l) {
            if (l._map) { drawn++; }
            if (l._map && (LD.kind === 'point' || (l._rings && l._rings.length))) { painted++; }
          });
        }
        out.layers[LD.name] = {written: LD.n, drawn: drawn, painted: painted,
                               shown: map.hasLayer(LD.wrapper)};
        if (map.hasLayer(LD.wrapper)) { out.written += LD.n; }
        out.drawn += drawn; out.painted += painted;
      });
      C.rasters.forEach(function (R) { if (map.hasLayer(R.layer)) { out.rasters++; } });
      return out;
    };
    C.search = function (text) { return searchData(text, 1000).length; };
    C.show = function (li, f) { showFeature(C.layers[li], f); };
    C.bounds = function (li, f) {
      var LD = C.layers[li];
      ensureGroup(LD);
      if (LD.packed) { return LD.group.bounds(f); }
      var l = LD.feats[f];
      return l.getBounds ? l.getBounds() : L.latLngBounds(l.getLatLng(), l.getLatLng());
    };
    C.setStyle = function (li, si) { setStyleOption(C.layers[li], si); refreshLegend(); };
    requestAnimationFrame(function () {
      requestAnimationFrame(function () { C.ready = true; TT.ready = performance.now(); });
    });
    return C;
  }

  window.yulinCompact = function (map) {
    if (!map._yulinCompact) {
      map._yulinCompact = controller(map);
      window.yulinMap = map._yulinCompact;  /* the last map's controller, for tests */
    }
    return map._yulinCompact;
  };
})();
