// The leosim globe: CesiumJS served by this server (offline), satellites and policy from the leosim API.
//
// No outside request: imagery is Cesium's own NaturalEarthII tiles (TileMapServiceImageryProvider), Ion is
// off (no token, no Ion layer), geocoder, terrain, base-layer picker and home button are disabled, and the
// server's Content-Security-Policy lets the page reach only this server.
//
// Satellites: positions fetched from /api/positions (ECEF) on a grid of SAMPLE_S seconds and interpolated
// linearly in between (the chord of 60 s of a 550 km orbit is within ~4 km of the arc: well under a pixel
// at whole-Earth zoom).

const MAX_SAMPLE_S = 60;
const SAMPLE_CACHE = 16;
const SHELL_COLOURS = ["#4fc3f7", "#aed581", "#ffd54f", "#ff8a65", "#4db6ac", "#90caf9", "#e6ee9c", "#bcaaa4"];
const STATE_COLOURS = { active: "#2e7d32", denied: "#c62828", restricted: "#ef6c00", none: "#8a8a8a" };
// Opacity of a country's fill, and of a custom region's (occupied areas, Crimea): a region is drawn almost
// opaque over its country, with its own outline, so that it reads as its own state instead of blending with
// the country's colour underneath (red over green at 0.45 made a muddy brown).
const COUNTRY_ALPHA = 0.55;
const REGION_ALPHA = 0.92;
const REGION_OUTLINE = "#ffffff";
// Countries with no rule: the base imagery is shown desaturated and dimmed, so that land without a rule reads
// as the legend's grey and only the ruled territories carry colour.
const NO_RULE_SATURATION = 0.0;
const NO_RULE_BRIGHTNESS = 0.85;
// Terminal labels: shown from this camera height down (m); with many terminals, only closer in.
const LABEL_MAX_HEIGHT_M = 2.2e7;
const LABEL_MAX_HEIGHT_MANY_M = 4.0e6;
const MANY_TERMINALS = 60;
const ROUTE_COLOUR = "#ff00ff"; // pure magenta: no other layer uses it (the browser test looks for it)
const SITE_STYLE = {
  terminal: { colour: "#ffffff", size: 9 }, city: { colour: "#ffffff", size: 9 },
  gateway: { colour: "#ffeb3b", size: 6 }, pop: { colour: "#ff9800", size: 8 },
};
const EARTH_RADIUS_KM = 6371.0; // mean radius, for footprints (a drawing aid, not the analysis)
const FOOTPRINT_MASK_DEG = 25.0; // elevation mask of the footprint circles, as the default terminals
const FOOTPRINT_RANGE_KM = 3000.0; // footprints drawn for satellites within this of the focus point

// window.leosim: what tests and the other globe modules (capacity.js, tracks.js) hook into: the viewer, the
// clock, Cesium, the API helper and the times of the window, once ready.
const hooks = { ready: false, satellitesShown: 0, routeDrawn: false, selected: null, errors: [],
  territoriesDrawn: false, islLinesShown: 0, footprintsShown: 0, clickToRouteMs: null, pinned: false };
window.leosim = hooks;

let token = null;
let Cesium = null;
let viewer = null;
let health = null;
let windowStart = null;
let windowStop = null;
let sampleS = MAX_SAMPLE_S;
const samples = new Map(); // sample index -> Float64Array of ECEF metres, or "pending"
let satPoints = null;
let satCount = 0;
let islPairs = null;
let islLines = null;
let footprintLines = null;
let frameCount = 0;
let currentXyz = null; // Float64Array of interpolated ECEF metres
const siteEntities = new Map();
let sites = [];
let routeEntity = null;
let fibreEntity = null;
let route = null; // last /api/route answer
let routeSnap = null;
let territoriesSource = null;
let territoriesAt = null;
let territoriesLoading = false;
let chartState = null;

function readToken() {
  const match = /(?:^|[#&])token=([^&]+)/.exec(window.location.hash);
  if (match) {
    sessionStorage.setItem("leosim-token", decodeURIComponent(match[1]));
    history.replaceState(null, "", window.location.pathname + window.location.search);
  }
  token = sessionStorage.getItem("leosim-token");
}

async function api(path) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  const response = await fetch(path, { headers });
  if (!response.ok) {
    let detail = "";
    try { detail = (await response.json()).error || ""; } catch (_) { /* not JSON */ }
    throw new Error(`${path.split("?")[0]}: ${response.status} ${detail}`);
  }
  return response.json();
}

function showMessage(html) {
  const box = document.getElementById("message");
  box.innerHTML = html;
  box.hidden = false;
}

function loadCesium() {
  window.CESIUM_BASE_URL = "/static/cesium/";
  const css = document.createElement("link");
  css.rel = "stylesheet";
  css.href = "/static/cesium/Widgets/widgets.css";
  document.head.appendChild(css);
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = "/static/cesium/Cesium.js";
    script.onload = () => resolve(window.Cesium);
    script.onerror = () => reject(new Error("Cesium.js did not load"));
    document.head.appendChild(script);
  });
}

function isoAt(seconds) {
  const when = Cesium.JulianDate.addSeconds(windowStart, seconds, new Cesium.JulianDate());
  return Cesium.JulianDate.toIso8601(when, 0);
}

function secondsNow() {
  return Cesium.JulianDate.secondsDifference(viewer.clock.currentTime, windowStart);
}

function snappedSeconds() {
  return Math.round(secondsNow() / sampleS) * sampleS;
}

// ----- satellites ----------------------------------------------------------------------------------------
function requestSample(k) {
  if (samples.has(k)) return samples.get(k);
  samples.set(k, "pending");
  api(`/api/positions?frame=ecef&t=${encodeURIComponent(isoAt(k * sampleS))}`).then((answer) => {
    const flat = answer.ecef_km;
    const xyz = new Float64Array(flat.length);
    for (let i = 0; i < flat.length; i += 1) xyz[i] = flat[i] === null ? NaN : flat[i] * 1000.0;
    samples.set(k, xyz);
    if (samples.size > SAMPLE_CACHE) {
      const keys = [...samples.keys()].sort((a, b) => Math.abs(a - k) - Math.abs(b - k));
      for (const old of keys.slice(SAMPLE_CACHE)) samples.delete(old);
    }
  }).catch((error) => { samples.delete(k); report(error); });
  return "pending";
}

function updateSatellites() {
  const t = secondsNow();
  const k = Math.floor(t / sampleS);
  const a = requestSample(k);
  const b = requestSample(k + 1);
  requestSample(k + 2);
  if (typeof a === "string") return;
  const f = typeof b === "string" ? 0.0 : (t - k * sampleS) / sampleS;
  if (currentXyz === null) currentXyz = new Float64Array(a.length);
  for (let i = 0; i < a.length; i += 1) currentXyz[i] = typeof b === "string" ? a[i] : a[i] + f * (b[i] - a[i]);
  let shown = 0;
  for (let i = 0; i < satCount; i += 1) {
    const point = satPoints.get(i);
    const x = currentXyz[3 * i];
    if (Number.isNaN(x)) { point.show = false; continue; }
    point.show = true;
    point.position = new Cesium.Cartesian3(x, currentXyz[3 * i + 1], currentXyz[3 * i + 2]);
    shown += 1;
  }
  hooks.satellitesShown = shown;
}

function satPosition(index) {
  if (currentXyz === null) return null;
  const x = currentXyz[3 * index];
  if (Number.isNaN(x)) return null;
  return new Cesium.Cartesian3(x, currentXyz[3 * index + 1], currentXyz[3 * index + 2]);
}

function updateIsls() {
  const show = document.getElementById("toggle-isl").checked;
  if (!show) { if (islLines) islLines.show = false; return; }
  if (currentXyz === null || islPairs === null) return;
  const fresh = islLines === null;
  if (fresh) {
    // One material shared by every line: the collection draws them in one batch (a material per line made
    // thousands of draw calls, and the layer showed nothing for seconds).
    islLines = viewer.scene.primitives.add(new Cesium.PolylineCollection());
    const material = Cesium.Material.fromType("Color", { color: Cesium.Color.fromCssColorString("#80deea").withAlpha(0.35) });
    for (let p = 0; p < islPairs.length; p += 2) {
      islLines.add({ positions: [Cesium.Cartesian3.ZERO, Cesium.Cartesian3.UNIT_X], width: 1.0, material, show: false });
    }
  }
  islLines.show = true;
  if (!fresh && frameCount % 10 !== 0) return;
  let shown = 0;
  for (let p = 0, line = 0; p < islPairs.length; p += 2, line += 1) {
    const a = satPosition(islPairs[p]);
    const b = satPosition(islPairs[p + 1]);
    const polyline = islLines.get(line);
    if (a === null || b === null) { polyline.show = false; continue; }
    polyline.show = true;
    polyline.positions = [a, b];
    shown += 1;
  }
  hooks.islLinesShown = shown;
}

function footprintFocus() {
  if (hooks.selected) {
    const site = sites.find((s) => s.id === hooks.selected);
    if (site) return site;
  }
  const centre = viewer.camera.pickEllipsoid(new Cesium.Cartesian2(viewer.canvas.clientWidth / 2,
    viewer.canvas.clientHeight / 2));
  if (!centre) return null;
  const c = Cesium.Cartographic.fromCartesian(centre);
  return { lat_deg: Cesium.Math.toDegrees(c.latitude), lon_deg: Cesium.Math.toDegrees(c.longitude) };
}

function centralAngle(lat1, lon1, lat2, lon2) {
  const s = Math.sin((lat2 - lat1) / 2) ** 2 + Math.cos(lat1) * Math.cos(lat2) * Math.sin((lon2 - lon1) / 2) ** 2;
  return 2 * Math.asin(Math.min(1, Math.sqrt(s)));
}

let footprintMaterial = null;
let footprintsWereShown = false;

function updateFootprints() {
  const show = document.getElementById("toggle-footprints").checked;
  if (footprintLines === null) footprintLines = viewer.scene.primitives.add(new Cesium.PolylineCollection());
  footprintLines.show = show;
  const justOn = show && !footprintsWereShown;
  footprintsWereShown = show;
  if (!show || currentXyz === null || (!justOn && frameCount % 15 !== 0)) return;
  footprintLines.removeAll();
  const focus = footprintFocus();
  if (!focus) return;
  const flat = Cesium.Math.toRadians(focus.lat_deg);
  const flon = Cesium.Math.toRadians(focus.lon_deg);
  const mask = Cesium.Math.toRadians(FOOTPRINT_MASK_DEG);
  if (footprintMaterial === null) {  // shared by every ring: one batch
    footprintMaterial = Cesium.Material.fromType("Color", { color: Cesium.Color.fromCssColorString("#b2ff59").withAlpha(0.5) });
  }
  let rings = 0;
  for (let i = 0; i < satCount; i += 1) {
    const p = satPosition(i);
    if (p === null) continue;
    const c = Cesium.Cartographic.fromCartesian(p);
    if (!c) continue;
    if (centralAngle(flat, flon, c.latitude, c.longitude) * EARTH_RADIUS_KM > FOOTPRINT_RANGE_KM) continue;
    // Coverage circle: central angle from the sub-satellite point to where the satellite is at the mask.
    const r = EARTH_RADIUS_KM / (EARTH_RADIUS_KM + c.height / 1000.0);
    const lambda = Math.acos(r * Math.cos(mask)) - mask;
    const ring = [];
    for (let k = 0; k <= 36; k += 1) {
      const bearing = (2 * Math.PI * k) / 36;
      const lat = Math.asin(Math.sin(c.latitude) * Math.cos(lambda)
        + Math.cos(c.latitude) * Math.sin(lambda) * Math.cos(bearing));
      const lon = c.longitude + Math.atan2(Math.sin(bearing) * Math.sin(lambda) * Math.cos(c.latitude),
        Math.cos(lambda) - Math.sin(c.latitude) * Math.sin(lat));
      ring.push(Cesium.Cartesian3.fromRadians(lon, lat, 1000.0));
    }
    footprintLines.add({ positions: ring, width: 1.0, material: footprintMaterial });
    rings += 1;
  }
  hooks.footprintsShown = rings;
}

// ----- territories -----------------------------------------------------------------------------------------
async function updateTerritories(force) {
  const show = document.getElementById("toggle-territories").checked;
  if (territoriesSource) territoriesSource.show = show;
  if (!show || territoriesLoading) return;
  const hour = Math.floor(secondsNow() / 3600);
  if (!force && territoriesAt === hour) return;
  territoriesLoading = true;
  try {
    const geojson = await api(`/api/territories?at=${encodeURIComponent(isoAt(hour * 3600))}`);
    // Clamped to the ground: the polygons are draped on the globe and hidden behind it like the imagery
    // (polygons at height 0 are drawn through the globe, so the far side of a large country shows). Cesium
    // builds draped geometry in web workers, large countries last: the globe waits for all of them
    // (untilDrawn) before it reports ready, so that every ruled territory is there at first paint.
    const source = await Cesium.GeoJsonDataSource.load(geojson, { clampToGround: true });
    const outlines = [];
    for (const entity of source.entities.values) {
      if (!entity.polygon) continue;
      const state = entity.properties.state.getValue();
      const region = entity.properties.layer && entity.properties.layer.getValue() === "region";
      entity.polygon.material = Cesium.Color.fromCssColorString(STATE_COLOURS[state] || STATE_COLOURS.none)
        .withAlpha(region ? REGION_ALPHA : COUNTRY_ALPHA);
      entity.polygon.outline = false;
      entity.polygon.zIndex = region ? 2 : 1; // regions over their countries
      if (region) outlines.push(entity);
    }
    for (const entity of outlines) { // a region's own outline, draped on the ground like the fill
      const ring = entity.polygon.hierarchy.getValue(Cesium.JulianDate.now()).positions;
      source.entities.add({ polyline: { positions: [...ring, ring[0]], clampToGround: true, width: 2, zIndex: 3,
        material: Cesium.Color.fromCssColorString(REGION_OUTLINE) } });
    }
    if (territoriesSource) viewer.dataSources.remove(territoriesSource, true);
    territoriesSource = source;
    await viewer.dataSources.add(source);
    territoriesAt = hour;
    await untilDrawn();
    hooks.territoriesDrawn = true;
  } catch (error) {
    report(error);
  } finally {
    territoriesLoading = false;
  }
}

// Resolves once every entity (the territory polygons included, whose geometry Cesium may build in web
// workers) is ready to draw, so that the territories appear together rather than one by one.
function untilDrawn() {
  return new Promise((resolve) => {
    const check = () => {
      if (viewer.dataSourceDisplay.ready) { viewer.scene.postRender.removeEventListener(check); resolve(); }
    };
    viewer.scene.postRender.addEventListener(check);
    viewer.scene.requestRender();
  });
}

// ----- sites, access, route, RTT ---------------------------------------------------------------------------
function addSites() {
  const many = sites.filter((s) => s.kind === "terminal" || s.kind === "city").length > MANY_TERMINALS;
  const labelHeight = many ? LABEL_MAX_HEIGHT_MANY_M : LABEL_MAX_HEIGHT_M;
  for (const site of sites) {
    const style = SITE_STYLE[site.kind] || SITE_STYLE.terminal;
    const terminal = site.kind === "terminal" || site.kind === "city";
    const entity = viewer.entities.add({
      position: Cesium.Cartesian3.fromDegrees(site.lon_deg, site.lat_deg, site.alt_m),
      point: { pixelSize: style.size, color: Cesium.Color.fromCssColorString(style.colour),
        outlineColor: Cesium.Color.BLACK, outlineWidth: 1 },
      label: terminal ? { text: site.name, font: "12px sans-serif", pixelOffset: new Cesium.Cartesian2(8, -8),
        horizontalOrigin: Cesium.HorizontalOrigin.LEFT, fillColor: Cesium.Color.WHITE,
        outlineColor: Cesium.Color.BLACK, outlineWidth: 3, style: Cesium.LabelStyle.FILL_AND_OUTLINE,
        scaleByDistance: new Cesium.NearFarScalar(2.0e6, 1.1, labelHeight, 0.75),
        distanceDisplayCondition: new Cesium.DistanceDisplayCondition(0, labelHeight) } : undefined,
    });
    entity.leosimSite = site;
    siteEntities.set(site.id, entity);
  }
}

function nodePosition(node) {
  if (node.kind === "satellite") {
    const p = satPosition(node.node);
    if (p !== null) return p;
  }
  return new Cesium.Cartesian3(node.ecef_km[0] * 1000, node.ecef_km[1] * 1000, node.ecef_km[2] * 1000);
}

function routePositions() {
  if (!route || route.path.length < 2) return [];
  const nodes = route.path.filter((n) => n.kind !== "pop"); // the PoP hangs off the gateway by fibre
  return nodes.map(nodePosition);
}

function fibrePositions() {
  if (!route || route.path.length < 2) return [];
  const last = route.path[route.path.length - 1];
  const before = route.path[route.path.length - 2];
  if (last.kind !== "pop") return [];
  return [nodePosition(before), nodePosition(last)];
}

function drawRoute() {
  if (routeEntity === null) {
    routeEntity = viewer.entities.add({ polyline: {
      positions: new Cesium.CallbackProperty(routePositions, false), width: 5, arcType: Cesium.ArcType.NONE,
      material: Cesium.Color.fromCssColorString(ROUTE_COLOUR) } });
    fibreEntity = viewer.entities.add({ polyline: {
      positions: new Cesium.CallbackProperty(fibrePositions, false), width: 4, arcType: Cesium.ArcType.GEODESIC,
      material: new Cesium.PolylineDashMaterialProperty({ color: Cesium.Color.fromCssColorString(ROUTE_COLOUR) }) } });
  }
}

function row(name, value) {
  return `<tr><td>${name}</td><td>${value}</td></tr>`;
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function showAccess(a) {
  const yes = (v) => (v ? "yes" : "no");
  const rule = a.rule ? ` — ${escapeHtml(a.rule)}` : "";
  document.getElementById("access-table").innerHTML = row("time", `${escapeHtml(a.time_utc)} UTC`)
    + row("territory", escapeHtml(a.territory || "(open sea)")) + row("in view", `${a.visible_sats} satellites`)
    + row("covered", yes(a.covered)) + row("routable", yes(a.routable))
    + row("RTT", a.rtt_ms === null ? "—" : `${a.rtt_ms.toFixed(1)} ms via ${escapeHtml(a.gateway)} to ${escapeHtml(a.pop)}`)
    + row("allowed", `${yes(a.allowed)}${rule}`);
}

function showRoute(answer) {
  route = answer;
  drawRoute();
  hooks.routeDrawn = route.routable;
  const line = route.routable
    ? `route at ${route.time_utc ? escapeHtml(route.time_utc.slice(11, 19)) + " UTC: " : ""}${route.hops} hops via `
      + `${escapeHtml(route.gateway)} to ${escapeHtml(route.pop)}, ${route.rtt_ms.toFixed(1)} ms (${route.source})`
    : "route: none at this instant";
  document.getElementById("route-line").textContent = line;
}

// The panel and the route follow the clock: at each new sample instant the access and the route of the
// selected site are fetched again (one request of each in flight at a time), so that the magenta line never
// stays on satellites that have moved on.
let followInFlight = false;

async function followClock() {
  const siteId = hooks.selected;
  if (!siteId || followInFlight) return;
  const snap = snappedSeconds();
  if (routeSnap === snap) return;
  const site = sites.find((s) => s.id === siteId);
  followInFlight = true;
  try {
    const t = encodeURIComponent(isoAt(snap));
    const [access, answer] = await Promise.all([
      api(`/api/access?lat=${site.lat_deg}&lon=${site.lon_deg}&t=${t}`),
      api(`/api/route?src=${encodeURIComponent(siteId)}&dst=pop&t=${t}`)]);
    if (hooks.selected !== siteId) return;
    routeSnap = snap;
    showAccess(access);
    showRoute(answer);
  } catch (error) {
    report(error);
  } finally {
    followInFlight = false;
  }
}

// A click asks for the access, the route and the RTT series at once (three requests in parallel) and records
// in window.leosim.clickToRouteMs how long it took until the route was drawn.
async function selectSite(siteId) {
  const site = sites.find((s) => s.id === siteId);
  if (!site) return;
  const clicked = performance.now();
  hooks.selected = siteId;
  hooks.routeDrawn = false;
  hooks.clickToRouteMs = null;
  route = null;
  chartState = null;
  document.getElementById("site-info").hidden = false;
  document.getElementById("site-title").textContent = `${site.name} (${site.kind})`;
  document.getElementById("rtt-chart").innerHTML = "";
  const snap = snappedSeconds();
  const t = encodeURIComponent(isoAt(snap));
  routeSnap = snap;
  const chart = loadRttChart(siteId);
  try {
    const [access, answer] = await Promise.all([
      api(`/api/access?lat=${site.lat_deg}&lon=${site.lon_deg}&t=${t}`),
      api(`/api/route?src=${encodeURIComponent(siteId)}&dst=pop&t=${t}`)]);
    if (hooks.selected !== siteId) return;
    showAccess(access);
    showRoute(answer);
    hooks.clickToRouteMs = performance.now() - clicked;
  } catch (error) {
    routeSnap = null;
    report(error);
  }
  await chart;
}

async function loadRttChart(siteId) {
  const span = Cesium.JulianDate.secondsDifference(windowStop, windowStart);
  const step = Math.max(health.window.step_s, Math.ceil(span / (health.max_rtt_steps - 1)));
  try {
    const answer = await api(`/api/rtt?src=${encodeURIComponent(siteId)}&dst=pop&from=${encodeURIComponent(isoAt(0))}`
      + `&to=${encodeURIComponent(isoAt(span))}&step=${step}`);
    if (hooks.selected !== siteId) return;
    chartState = { answer, span };
    drawChart();
  } catch (error) {
    report(error);
  }
}

function drawChart() {
  if (!chartState) return;
  const { answer, span } = chartState;
  const w = 316; const h = 150; const left = 40; const right = 8; const top = 10; const bottom = 28;
  const values = answer.rtt_ms.filter((v) => v !== null);
  const box = document.getElementById("rtt-chart");
  if (values.length === 0) { box.innerHTML = "<p class='muted'>No route at any instant of the window.</p>"; return; }
  const lo = Math.floor(Math.min(...values) / 5) * 5;
  const hi = Math.max(lo + 5, Math.ceil(Math.max(...values) / 5) * 5);
  const x = (i) => left + ((w - left - right) * i) / Math.max(1, answer.rtt_ms.length - 1);
  const y = (v) => top + ((h - top - bottom) * (hi - v)) / (hi - lo);
  let path = "";
  let pen = false;
  answer.rtt_ms.forEach((v, i) => {
    if (v === null) { pen = false; return; }
    path += `${pen ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
    pen = true;
  });
  const cursor = left + ((w - left - right) * Math.min(Math.max(secondsNow() / span, 0), 1));
  const t0 = answer.time_utc[0].slice(11, 16);
  const t1 = answer.time_utc[answer.time_utc.length - 1].slice(11, 16);
  box.innerHTML = `<svg width="${w}" height="${h}" role="img">
    <title>RTT to the best PoP over the window</title>
    <line x1="${left}" y1="${top}" x2="${left}" y2="${h - bottom}" stroke="#777"/>
    <line x1="${left}" y1="${h - bottom}" x2="${w - right}" y2="${h - bottom}" stroke="#777"/>
    <text x="${left - 4}" y="${top + 8}" fill="#bbb" font-size="10" text-anchor="end">${hi}</text>
    <text x="${left - 4}" y="${h - bottom}" fill="#bbb" font-size="10" text-anchor="end">${lo}</text>
    <text x="4" y="${(h - bottom + top) / 2}" fill="#bbb" font-size="10" transform="rotate(-90 10 ${(h - bottom + top) / 2})">RTT (ms)</text>
    <text x="${left}" y="${h - 14}" fill="#bbb" font-size="10">${t0}</text>
    <text x="${w - right}" y="${h - 14}" fill="#bbb" font-size="10" text-anchor="end">${t1} UTC</text>
    <text x="${(left + w) / 2}" y="${h - 3}" fill="#bbb" font-size="10" text-anchor="middle">time (${answer.source})</text>
    <path d="${path}" fill="none" stroke="${ROUTE_COLOUR}" stroke-width="1.5"/>
    <line id="chart-cursor" x1="${cursor}" y1="${top}" x2="${cursor}" y2="${h - bottom}" stroke="#fff" stroke-dasharray="2,2"/>
  </svg>`;
}

function updateChartCursor() {
  const cursor = document.getElementById("chart-cursor");
  if (!cursor || !chartState) return;
  const w = 316; const left = 40; const right = 8;
  const xpos = left + ((w - left - right) * Math.min(Math.max(secondsNow() / chartState.span, 0), 1));
  cursor.setAttribute("x1", xpos);
  cursor.setAttribute("x2", xpos);
}

function siteWindowPosition(siteId) {
  const entity = siteEntities.get(siteId);
  if (!entity) return null;
  const position = entity.position.getValue(viewer.clock.currentTime);
  // On the side of the Earth facing the camera (the point's outward normal points towards the camera).
  const toCamera = Cesium.Cartesian3.subtract(viewer.camera.positionWC, position, new Cesium.Cartesian3());
  if (Cesium.Cartesian3.dot(toCamera, position) <= 0) return null;
  const xy = Cesium.SceneTransforms.worldToWindowCoordinates(viewer.scene, position);
  return xy ? { x: xy.x, y: xy.y } : null;
}

function report(error) {
  hooks.errors.push(String(error && error.message ? error.message : error));
  console.warn("leosim:", error); // a warning, not an error: a failed fetch is retried on the next tick
}

function legend() {
  const shells = (health.shells || []).map((s, k) =>
    `<span class="swatch" style="background:${SHELL_COLOURS[k % SHELL_COLOURS.length]}"></span>${escapeHtml(s.name || `shell ${k}`)}`);
  const states = Object.entries(STATE_COLOURS).map(([name, colour]) =>
    `<span class="swatch" style="background:${colour}"></span>${name === "none" ? "no rule (grey land: denied by default)" : name}`);
  const region = `<span class="swatch region"></span>custom region (occupied areas, Crimea): its own state, outlined`;
  document.getElementById("legend").innerHTML = `<div>${states.join(" ")}</div><div class="small">${region}</div>`
    + `<div class="small">${shells.join(" ")}</div>`
    + `<div class="small"><span class="swatch" style="background:#fff"></span>terminal<span class="swatch" style="background:#ffeb3b"></span>gateway`
    + `<span class="swatch" style="background:#ff9800"></span>PoP<span class="swatch" style="background:${ROUTE_COLOUR}"></span>route</div>`;
}

async function main() {
  readToken();
  try {
    health = await api("/api/health");
  } catch (error) {
    showMessage(`The leosim API did not answer (${escapeHtml(error.message)}). On a server bound to another address than `
      + "loopback, open this page as <code>/#token=YOUR_TOKEN</code>.");
    return;
  }
  const w = health.window;
  document.getElementById("window-line").textContent = `${health.scenario || "starlink-gen1, default sites"} — `
    + `${health.satellites} satellites, ${w.start.slice(0, 16)}Z to ${w.end.slice(0, 16)}Z`;
  if (!health.globe) {
    showMessage("The globe's CesiumJS files are not built. Run <code>scripts/build_web_assets.sh</code> "
      + "(part of <code>make setup</code>), then reload. The API works without them: <code>/api/health</code>, "
      + "<code>/openapi.json</code>.");
    hooks.ready = true;
    return;
  }
  Cesium = await loadCesium();
  Cesium.Ion.defaultAccessToken = "";
  const imagery = Cesium.TileMapServiceImageryProvider.fromUrl(Cesium.buildModuleUrl("Assets/Textures/NaturalEarthII"));
  viewer = new Cesium.Viewer("globe", {
    baseLayer: Cesium.ImageryLayer.fromProviderAsync(imagery),
    baseLayerPicker: false, geocoder: false, homeButton: false, sceneModePicker: false, navigationHelpButton: false,
    fullscreenButton: false, infoBox: false, selectionIndicator: false, animation: true, timeline: true,
    terrainProvider: new Cesium.EllipsoidTerrainProvider(),
    contextOptions: { webgl: { preserveDrawingBuffer: true } },
  });
  hooks.viewer = viewer;
  hooks.clock = viewer.clock;
  hooks.Cesium = Cesium;
  hooks.api = api;
  const base = viewer.imageryLayers.get(0);
  base.saturation = NO_RULE_SATURATION; // land without a rule: grey (the territories with one carry colour)
  base.brightness = NO_RULE_BRIGHTNESS;
  windowStart = Cesium.JulianDate.fromIso8601(w.start);
  windowStop = Cesium.JulianDate.fromIso8601(w.end);
  if (Cesium.JulianDate.secondsDifference(windowStop, windowStart) <= 0) {
    windowStop = Cesium.JulianDate.addSeconds(windowStart, 3600, new Cesium.JulianDate());
  }
  sampleS = Math.min(MAX_SAMPLE_S, w.step_s);
  const clock = viewer.clock;
  clock.startTime = windowStart.clone();
  clock.stopTime = windowStop.clone();
  clock.currentTime = windowStart.clone();
  clock.clockRange = Cesium.ClockRange.LOOP_STOP;
  clock.multiplier = 60;
  clock.shouldAnimate = true;
  viewer.timeline.zoomTo(windowStart, windowStop);
  hooks.windowStart = windowStart;
  hooks.windowStop = windowStop;
  // The territories first, in parallel with the satellites and sites: every ruled territory at first paint.
  const territories = updateTerritories(true);

  const [constellation, siteAnswer] = await Promise.all([api("/api/constellation"), api("/api/sites")]);
  health.shells = constellation.shells;
  legend();
  satCount = constellation.count;
  islPairs = constellation.isls;
  satPoints = viewer.scene.primitives.add(new Cesium.PointPrimitiveCollection());
  const colours = SHELL_COLOURS.map((c) => Cesium.Color.fromCssColorString(c));
  for (let i = 0; i < satCount; i += 1) {
    const shell = constellation.shell[i] >= 0 ? constellation.shell[i] : 0;
    satPoints.add({ position: Cesium.Cartesian3.ZERO, pixelSize: 3, show: false,
      color: colours[shell % colours.length], id: { satellite: constellation.sat_id[i], name: constellation.name[i] } });
  }
  sites = siteAnswer.sites;
  addSites();
  const terminals = sites.filter((s) => s.kind === "terminal" || s.kind === "city");
  const focus = terminals.length ? terminals[0] : { lat_deg: 30, lon_deg: 20 };
  viewer.camera.setView({ destination: Cesium.Cartesian3.fromDegrees(focus.lon_deg, focus.lat_deg, 1.6e7) });

  viewer.screenSpaceEventHandler.setInputAction((click) => {
    // The site under the cursor even where a footprint, a laser link or a territory is drawn over it.
    let picked = viewer.scene.pick(click.position);
    if (!(Cesium.defined(picked) && picked.id && picked.id.leosimSite)) {
      picked = viewer.scene.drillPick(click.position, 6).find((p) => p && p.id && p.id.leosimSite);
    }
    if (Cesium.defined(picked) && picked.id && picked.id.leosimSite) {
      const site = picked.id.leosimSite;
      if (site.kind === "terminal" || site.kind === "city" || site.kind === "gateway") selectSite(site.id);
    }
  }, Cesium.ScreenSpaceEventType.LEFT_CLICK);
  for (const id of ["toggle-territories", "toggle-isl", "toggle-footprints"]) {
    document.getElementById(id).addEventListener("change", () => updateTerritories(false));
  }
  viewer.scene.preRender.addEventListener(() => {
    frameCount += 1;
    hooks.frame = frameCount;
    updateSatellites();
    updateIsls();
    updateFootprints();
    if (frameCount % 20 === 0) {
      updateTerritories(false);
      followClock();
      updateChartCursor();
    }
  });
  await territories;
  hooks.selectSite = selectSite;
  hooks.siteWindowPosition = siteWindowPosition;
  hooks.terminals = terminals.map((s) => s.id);
  hooks.ready = true;
}

main().catch((error) => {
  showMessage(`The globe failed to start: ${escapeHtml(error.message || error)}`);
  hooks.errors.push(String(error));
});
