// The dashboard's only way to the server: the documented HTTP API
// (docs/api.md), authenticated by the session cookie set at login.

export class APIError extends Error {
  constructor(status, body) {
    super((body && body.error) || `HTTP ${status}`);
    this.status = status;
    this.field = body && body.field;
    // Every problem the server found, each naming its field:
    // [{field, message}]. Older servers name one field only.
    this.problems = (body && Array.isArray(body.problems) && body.problems) || [];
  }
}

// Called when a request comes back 401: the app shows the login page.
let onUnauthorized = () => {};
export function setUnauthorizedHandler(f) {
  onUnauthorized = f;
}

export async function api(method, path, body) {
  const opts = { method, headers: {}, credentials: "same-origin" };
  if (method !== "GET") {
    // Required with cookie authentication on state-changing requests.
    opts.headers["X-Surge-Request"] = "1";
  }
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const resp = await fetch(path, opts);
  let data = null;
  const text = await resp.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { error: text };
    }
  }
  if (resp.status === 401 && path !== "/api/v1/login") {
    onUnauthorized();
  }
  if (!resp.ok) throw new APIError(resp.status, data);
  return data;
}

export const login = (secret) => api("POST", "/api/v1/login", { secret });
export const logout = () => api("POST", "/api/v1/logout");
export const session = () => api("GET", "/api/v1/session");
export const listRuns = () => api("GET", "/api/v1/runs");
export const listAgents = () => api("GET", "/api/v1/agents");
export const getRun = (id) => api("GET", `/api/v1/runs/${encodeURIComponent(id)}`);
export const startRun = (req) => api("POST", "/api/v1/runs", req);
// A capacity search is a run of kind "capacity" (docs/api.md, "Capacity
// searches"): its summary is surge.capacity/v1.
export const startCapacity = (req) => api("POST", "/api/v1/capacity", req);
export const adjustRun = (id, change) => api("PATCH", `/api/v1/runs/${encodeURIComponent(id)}`, change);
export const stopRun = (id) => api("POST", `/api/v1/runs/${encodeURIComponent(id)}/stop`);
export const timeline = (id) => api("GET", `/api/v1/runs/${encodeURIComponent(id)}/timeline`);
export const summary = (id) => api("GET", `/api/v1/runs/${encodeURIComponent(id)}/summary`);
export const compare = (a, b) => api("GET", `/api/v1/compare?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}`);
export const scenarios = () => api("GET", "/api/v1/scenarios");
export const scenarioText = (name) => api("GET", `/api/v1/scenarios/${encodeURIComponent(name)}`);
export const reportURL = (id, format) => `/api/v1/runs/${encodeURIComponent(id)}/report?format=${format}`;
// A capacity search's report is its result; of=load asks for the report
// of the load test it ran.
export const loadReportURL = (id, format) => `${reportURL(id, format)}&of=load`;
export const runEventsURL = (id) => `/api/v1/runs/${encodeURIComponent(id)}/events`;
export const eventsURL = "/api/v1/events";
