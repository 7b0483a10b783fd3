// Capacity layer of the globe: H3 demand cells coloured by served/demand at the clock's 15 s slot.
// Loaded by index.html after app.js; it only reads app.js's hooks (window.leosim.viewer, .ready) and asks
// /api/capacity?t=ISO when the clock enters a new slot (slots start at :12, :27, :42, :57 past the minute).

const SLOT_S = 15;
const SLOT_OFFSET_S = 12;
const POLL_MS = 500;
const ALPHA = 0.55;

let Cesium = null;
let source = null;
let shownSlot = null;
let busy = false;

function token() {
  return sessionStorage.getItem("leosim-token");
}

async function api(path) {
  const headers = token() ? { Authorization: `Bearer ${token()}` } : {};
  const response = await fetch(path, { headers });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

// The start of the slot holding a JS Date (whole seconds, UTC).
function slotStart(date) {
  const s = Math.floor(date.getTime() / 1000);
  return new Date((s - ((((s - SLOT_OFFSET_S) % SLOT_S) + SLOT_S) % SLOT_S)) * 1000);
}

// Red (nothing served) through yellow to green (all served).
function colour(ratio) {
  const r = Math.max(0, Math.min(1, ratio));
  return Cesium.Color.fromHsl((r * 120) / 360, 0.85, 0.5, ALPHA);
}

function addToggle() {
  const layers = document.getElementById("layers");
  const labelEl = document.createElement("label");
  labelEl.innerHTML = '<input type="checkbox" id="toggle-capacity"> capacity: served / demand per cell';
  layers.appendChild(labelEl);
  document.getElementById("toggle-capacity").addEventListener("change", () => { shownSlot = null; refresh(); });
}

async function refresh() {
  const hooks = window.leosim;
  const box = document.getElementById("toggle-capacity");
  if (!box || !hooks || !hooks.viewer) return;
  if (!box.checked) {
    if (source) source.show = false;
    return;
  }
  const now = Cesium.JulianDate.toDate(hooks.viewer.clock.currentTime);
  const slot = slotStart(now).toISOString();
  if (slot === shownSlot || busy) return;
  busy = true;
  try {
    const answer = await api(`/api/capacity?t=${encodeURIComponent(slot)}`);
    if (!source) source = await hooks.viewer.dataSources.add(new Cesium.CustomDataSource("capacity"));
    source.entities.suspendEvents();
    source.entities.removeAll();
    for (const cell of answer.cells) {
      const ratio = cell.demand_mbps > 0 ? cell.served_mbps / cell.demand_mbps : 1;
      const ring = cell.boundary.flatMap(([lat, lon]) => [lon, lat]);
      source.entities.add({
        polygon: { hierarchy: Cesium.Cartesian3.fromDegreesArray(ring), material: colour(ratio), height: 0 },
        description: `${cell.cell} ${cell.territory}: ${cell.served_mbps.toFixed(0)} of `
          + `${cell.demand_mbps.toFixed(0)} Mbps, ${cell.beams} beams, bottleneck ${cell.bottleneck}`,
      });
    }
    source.entities.resumeEvents();
    source.show = true;
    shownSlot = slot;
    hooks.capacityCells = answer.cells.length;
  } catch (error) {
    shownSlot = slot; // do not hammer the server: try again at the next slot
    hooks.errors.push(`capacity: ${error.message || error}`);
  } finally {
    busy = false;
  }
}

function start() {
  const hooks = window.leosim;
  if (!hooks || !hooks.ready || !window.Cesium) {
    setTimeout(start, POLL_MS);
    return;
  }
  Cesium = window.Cesium;
  addToggle();
  setInterval(refresh, POLL_MS);
}

start();
