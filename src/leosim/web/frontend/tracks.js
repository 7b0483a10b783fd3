// Moving terminals on the globe: every second of wall-clock time (and whenever the clock jumps), ask
// /api/terminals for where the scenario's moving terminals are at the globe's current time, and draw them
// as points coloured by status (served green, denied red, no route orange, no coverage grey; absent
// terminals are hidden). Works beside app.js through window.leosim (its viewer and readiness flag).

const STATUS_COLOURS = { ok: "#2e9d4a", denied: "#d62728", no_route: "#e07b00", no_coverage: "#8c8c8c" };
const REFRESH_MS = 1000;

function authHeaders() {
  const token = sessionStorage.getItem("leosim-token");
  return token ? { Authorization: `Bearer ${token}` } : {};
}

async function start() {
  const hooks = window.leosim;
  if (!hooks || !hooks.ready || !hooks.viewer || !window.Cesium) {
    setTimeout(start, 250);
    return;
  }
  const Cesium = window.Cesium;
  const viewer = hooks.viewer;
  const points = viewer.scene.primitives.add(new Cesium.PointPrimitiveCollection());
  const byId = new Map();
  hooks.movingTerminals = 0;
  let busy = false;
  let lastIso = "";

  async function refresh() {
    const iso = Cesium.JulianDate.toIso8601(viewer.clock.currentTime, 0);
    if (busy || iso === lastIso) return;
    busy = true;
    try {
      const response = await fetch(`/api/terminals?t=${encodeURIComponent(iso)}`, { headers: authHeaders() });
      if (!response.ok) return;
      const terminals = await response.json();
      lastIso = iso;
      let shown = 0;
      for (const t of terminals) {
        let point = byId.get(t.id);
        if (!point) {
          point = points.add({ pixelSize: 10, outlineColor: Cesium.Color.BLACK, outlineWidth: 1,
            id: { movingTerminal: t.id } });
          byId.set(t.id, point);
        }
        const here = t.lat_deg !== null && t.lon_deg !== null && t.status !== "absent";
        point.show = here;
        if (here) {
          point.position = Cesium.Cartesian3.fromDegrees(t.lon_deg, t.lat_deg, 0);
          point.color = Cesium.Color.fromCssColorString(STATUS_COLOURS[t.status] || "#000000");
          shown += 1;
        }
      }
      hooks.movingTerminals = shown;
    } catch (error) {
      hooks.errors.push(`tracks: ${error}`);
    } finally {
      busy = false;
    }
  }

  setInterval(refresh, REFRESH_MS);
  refresh();
}

start();
