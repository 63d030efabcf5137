/* yulin_gis offline map runtime (our own code on Leaflet's public API; MIT like the package).
   Reads the JSON in #yulin-data written by yulin_gis.webmap; see yulin_gis/mapjs.py for the format. */
(function () {
  'use strict';
  var TT = {start: performance.now()};  /* timings (ms since navigation) for benchmarks */
  var D = JSON.parse(document.getElementById('yulin-data').textContent);
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
  function toggleClass(e, cls) {
    if (L.DomUtil.hasClass(e, cls)) { L.DomUtil.removeClass(e, cls); } else { L.DomUtil.addClass(e, cls); }
  }
  function stop(div) {
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
  }

  /* A canvas renderer that draws all features of one style with one fill and one stroke
     (Leaflet's own canvas fills and strokes every feature separately, which dominates the
     drawing time of tens of thousands of compounds). Hit-testing is Leaflet's. */
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

  var useCanvas = D.canvas;
  var map = L.map('yulin-map', {zoomControl: true,
                                maxZoom: D.maxZoom, attributionControl: true});
  var renderer = useCanvas ? new BatchCanvas({padding: 0.5, tolerance: 2}) : L.svg({padding: 0.5});
  map.createPane('yulinRaster');
  map.getPane('yulinRaster').style.zIndex = 350;

  /* ---------- basemaps ---------- */
  var bases = [];
  D.basemaps.forEach(function (b) {
    var parts = b.tiles.map(function (t) {
      return L.tileLayer(t.url, {subdomains: t.subdomains, attribution: t.attribution,
                                 maxZoom: D.maxZoom, maxNativeZoom: t.maxNativeZoom});
    });
    bases.push({name: b.name, layer: parts.length ? L.layerGroup(parts) : null});
  });
  var activeBase = bases.length ? bases[0] : null;
  if (activeBase && activeBase.layer) { activeBase.layer.addTo(map); }

  /* ---------- vector layers ---------- */
  function classStyles(LD, opt) {
    var p = LD.paint;
    return opt.classes.map(function (c) {
      var s = {renderer: renderer, color: p.stroke || c.color, weight: p.weight,
               opacity: p.opacity, fillColor: c.color, fillOpacity: p.fillOpacity,
               fillRule: 'nonzero'};  /* rings are oriented in Python: holes stay holes */
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
  function fieldValue(F, f) {
    var v = F.dict[fieldCode(F, f)];
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
  function ensureGroup(LD) { return LD.group || buildLayer(LD); }
  function setStyleOption(LD, si) {
    LD.styleIdx = si;
    if (!LD.group) { return; }
    var opt = LD.styles[si], styles = classStyles(LD, opt), codes = optCodes(opt, LD.n);
    for (var f = 0; f < LD.n; f++) { LD.feats[f].setStyle(styles[codes[f]]); }
  }

  /* ---------- raster overlays ---------- */
  D.rasters.forEach(function (R) {
    R.layer = L.imageOverlay(R.url, R.bounds, {opacity: R.opacity, pane: 'yulinRaster',
                                               interactive: false});
    if (R.show) { R.layer.addTo(map); }
  });
  TT.parsed = performance.now();
  D.layers.forEach(function (LD) {
    LD.styleIdx = 0;
    if (LD.show) { ensureGroup(LD).addTo(map); }
  });

  /* ---------- title ---------- */
  if (D.title) {
    var Title = L.Control.extend({options: {position: 'topright'}, onAdd: function () {
      return el('div', 'yl-box yl-title', D.title);
    }});
    new Title().addTo(map);
  }

  /* ---------- legend ---------- */
  var legendDiv, LEGEND_MAX = 30;
  function refreshLegend() {
    if (!legendDiv) { return; }
    legendDiv.textContent = '';
    var any = false;
    D.layers.forEach(function (LD) {
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
    D.rasters.forEach(function (R) {
      if (!R.legend || !map.hasLayer(R.layer)) { return; }
      any = true;
      el('h4', null, R.name, legendDiv);
      var g = el('div', 'yl-grad', null, legendDiv);
      g.style.background = 'linear-gradient(to right,' + R.legend.colors.join(',') + ')';
      el('div', 'yl-row', R.legend.low + ' — ' + R.legend.high, legendDiv);
    });
    legendDiv.style.display = any ? '' : 'none';
  }
  var Legend = L.Control.extend({options: {position: 'bottomright'}, onAdd: function () {
    legendDiv = el('div', 'yl-box yl-legend');
    stop(legendDiv);
    return legendDiv;
  }});
  new Legend().addTo(map);

  /* ---------- layer panel (basemaps, layers, style switch) ---------- */
  var Panel = L.Control.extend({options: {position: 'topright'}, onAdd: function () {
    var div = el('div', 'yl-box yl-panel');
    stop(div);
    var head = el('div', null, null, div), btn = el('a', null, '图层 ▾', head);
    btn.href = '#'; btn.setAttribute('role', 'button');
    var body = el('div', null, null, div);
    L.DomEvent.on(btn, 'click', function (e) {
      L.DomEvent.preventDefault(e);
      body.style.display = body.style.display === 'none' ? '' : 'none';
    });
    if (bases.length > 1) {
      el('h4', null, '底图', body);
      bases.forEach(function (b, i) {
        var lab = el('label', null, null, body), inp = el('input', null, null, lab);
        inp.type = 'radio'; inp.name = 'yl-base'; inp.checked = (i === 0);
        el('span', null, ' ' + b.name, lab);
        L.DomEvent.on(inp, 'change', function () {
          if (activeBase && activeBase.layer) { map.removeLayer(activeBase.layer); }
          activeBase = b;
          if (b.layer) { b.layer.addTo(map); b.layer.eachLayer(function (t) { t.bringToBack(); }); }
        });
      });
    }
    el('h4', null, '图层', body);
    D.layers.forEach(function (LD) {
      var lab = el('label', null, null, body), inp = el('input', null, null, lab);
      inp.type = 'checkbox'; inp.checked = LD.show;
      LD.checkbox = inp;
      el('span', null, ' ' + LD.name + '（' + LD.n + '）', lab);
      L.DomEvent.on(inp, 'change', function () {
        if (inp.checked) { ensureGroup(LD).addTo(map); }
        else if (LD.group) { map.removeLayer(LD.group); }
        refreshLegend();
      });
      if (LD.styles.length > 1) {
        var sel = el('select', null, null, body);
        sel.title = '分类显示';
        LD.styles.forEach(function (o, i) {
          var op = el('option', null, '按' + o.title, sel); op.value = String(i);
        });
        L.DomEvent.on(sel, 'change', function () {
          setStyleOption(LD, parseInt(sel.value, 10)); refreshLegend();
        });
      }
    });
    D.rasters.forEach(function (R) {
      var lab = el('label', null, null, body), inp = el('input', null, null, lab);
      inp.type = 'checkbox'; inp.checked = R.show;
      el('span', null, ' ' + R.name, lab);
      L.DomEvent.on(inp, 'change', function () {
        if (inp.checked) { R.layer.addTo(map); } else { map.removeLayer(R.layer); }
        refreshLegend();
      });
    });
    return div;
  }});
  new Panel().addTo(map);

  /* ---------- search ---------- */
  function searchData(text, limit) {
    var q = String(text).trim().toLowerCase(), hits = [];
    if (!q) { return hits; }
    D.layers.forEach(function (LD) {
      LD.search.forEach(function (k) {
        var F = LD.fields[k];
        var match = F.dict.map(function (v) {
          return v !== null && String(v).toLowerCase().indexOf(q) >= 0;
        });
        for (var f = 0; f < LD.n && hits.length < limit; f++) {
          if (match[fieldCode(F, f)]) { hits.push({layer: LD, f: f, text: F.dict[fieldCode(F, f)]}); }
        }
      });
    });
    return hits;
  }
  function showFeature(LD, f) {
    ensureGroup(LD);
    if (!map.hasLayer(LD.group)) {
      LD.group.addTo(map); if (LD.checkbox) { LD.checkbox.checked = true; } refreshLegend();
    }
    var l = LD.feats[f];
    if (LD.kind === 'point') { map.setView(l.getLatLng(), Math.max(map.getZoom(), 17)); }
    else { map.fitBounds(l.getBounds(), {maxZoom: 18}); }
    var at = l.getBounds ? l.getBounds().getCenter() : l.getLatLng();
    L.popup({maxWidth: 360}).setLatLng(at)
      .setContent(infoNode(LD, f, LD.popup.length ? 'popup' : 'tooltip', true)).openOn(map);
  }
  if (D.layers.some(function (LD) { return LD.search.length > 0; })) {
    var Search = L.Control.extend({options: {position: 'topleft'}, onAdd: function () {
      var div = el('div', 'yl-box yl-search'), inp = el('input', null, null, div);
      var res = el('div', 'yl-results', null, div);
      inp.type = 'search'; inp.placeholder = '搜索名称…';
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
  }

  /* ---------- scale, fullscreen, measure ---------- */
  L.control.scale({metric: true, imperial: false, position: 'bottomleft'}).addTo(map);
  function button(text, title, onClick) {
    var B = L.Control.extend({options: {position: 'topleft'}, onAdd: function () {
      var div = el('div', 'leaflet-bar'), a = el('a', 'yl-btn', text, div);
      a.href = '#'; a.title = title; a.setAttribute('role', 'button');
      stop(div);
      L.DomEvent.on(a, 'click', function (e) { L.DomEvent.preventDefault(e); onClick(a); });
      return div;
    }});
    new B().addTo(map);
  }
  button('全屏', '全屏显示 / 退出', function (a) {
    var c = map.getContainer();
    if (document.fullscreenElement) { document.exitFullscreen(); }
    else if (c.requestFullscreen && !L.DomUtil.hasClass(c, 'yl-full')) {
      c.requestFullscreen().catch(function () { L.DomUtil.addClass(c, 'yl-full'); });
    } else { toggleClass(c, 'yl-full'); }
    toggleClass(a, 'yl-on');
    setTimeout(function () { map.invalidateSize(); }, 200);
  });
  var measure = {on: false, pts: [], line: null, box: null};
  function measureText() {
    var d = 0;
    for (var i = 1; i < measure.pts.length; i++) { d += map.distance(measure.pts[i - 1], measure.pts[i]); }
    return d;
  }
  button('测距', '测量距离：在地图上依次单击，再次点此按钮结束', function (a) {
    measure.on = !measure.on;
    toggleClass(a, 'yl-on');
    if (measure.line) { map.removeLayer(measure.line); measure.line = null; }
    if (measure.box) { map.removeControl(measure.box); measure.box = null; }
    measure.pts = [];
    map.getContainer().style.cursor = measure.on ? 'crosshair' : '';
  });
  var MeasureBox = L.Control.extend({options: {position: 'bottomleft'}, onAdd: function () {
    this._div = el('div', 'yl-box'); return this._div;
  }});
  map.on('popupopen', function () { if (measure.on) { map.closePopup(); } });
  map.on('preclick', function (e) {  /* preclick also fires over features */
    if (!measure.on) { return; }
    measure.pts.push(e.latlng);
    if (!measure.line) {
      measure.line = L.polyline([], {color: '#d00', weight: 3, dashArray: '6 4',
                                     interactive: false, renderer: L.svg()}).addTo(map);
    }
    measure.line.setLatLngs(measure.pts);
    if (!measure.box) { measure.box = new MeasureBox().addTo(map); }
    var d = measureText();
    measure.box._div.textContent = '距离：' + (d >= 1000 ? (d / 1000).toFixed(3) + ' 千米'
                                                        : d.toFixed(1) + ' 米');
  });

  /* ---------- initial view ---------- */
  if (D.bounds) { map.fitBounds(D.bounds, {padding: [10, 10]}); }
  else { map.setView(D.center, 12); }
  refreshLegend();
  TT.built = performance.now();

  function stats() {
    var out = {layers: {}, written: 0, drawn: 0, painted: 0, leaflet: L.version,
               canvas: useCanvas, rasters: 0};
    D.layers.forEach(function (LD) {
      var drawn = 0, painted = 0;
      if (LD.group && map.hasLayer(LD.group)) {
        LD.feats.forEach(function (l) {
          if (l._map) { drawn++; }
          if (l._map && (LD.kind === 'point' || (l._rings && l._rings.length))) { painted++; }
        });
      }
      out.layers[LD.name] = {written: LD.n, drawn: drawn, painted: painted, shown: LD.show};
      if (LD.show) { out.written += LD.n; }
      out.drawn += drawn; out.painted += painted;
    });
    D.rasters.forEach(function (R) { if (map.hasLayer(R.layer)) { out.rasters++; } });
    return out;
  }
  window.yulinMap = {
    map: map, data: D, ready: false, stats: stats,
    search: function (text) { return searchData(text, 1000).length; },
    show: function (li, f) { showFeature(D.layers[li], f); },
    setStyle: function (li, si) { setStyleOption(D.layers[li], si); refreshLegend(); },
    measure: measure, t: TT
  };
  requestAnimationFrame(function () {
    requestAnimationFrame(function () { window.yulinMap.ready = true; TT.ready = performance.now(); });
  });
})();
