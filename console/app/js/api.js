// The four service APIs, called straight from the browser with the bearer token the user pasted.

const TOKEN_KEY = "leadflow.token";
let services = null;

/** An answer other than 2xx, with the status and the service's own message. */
export class ApiError extends Error {
  constructor(service, status, detail) {
    super(`${service}: ${status} ${describe(detail)}`);
    this.service = service;
    this.status = status;
    this.detail = detail;
  }
}

function describe(detail) {
  if (detail === null || detail === undefined) return "";
  if (typeof detail === "string") return detail;
  if (detail.errors) return detail.errors.map((e) => `${e.field}: ${e.message}`).join("; ");
  if (detail.detail !== undefined) return describe(detail.detail);
  if (detail.message) {
    const problems = detail.problems ? `: ${detail.problems.join("; ")}` : "";
    return `${detail.message}${problems}`;
  }
  return JSON.stringify(detail);
}

/** Where each service answers, from the console server's /config.json. */
export async function loadConfig() {
  if (services) return services;
  const answer = await fetch("/config.json", { cache: "no-store" });
  if (!answer.ok) throw new Error(`the console's /config.json answered ${answer.status}`);
  services = (await answer.json()).services;
  return services;
}

/** The pasted token, kept for this browser tab only. */
export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  sessionStorage.setItem(TOKEN_KEY, value.trim());
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** A query string from the params that have a value. */
export function query(params = {}) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** Call a service: JSON in, JSON out; a non-2xx answer throws ApiError. */
export async function call(service, path, { method = "GET", params, body } = {}) {
  const base = (await loadConfig())[service];
  if (!base) throw new Error(`no URL configured for ${service}`);
  const headers = { Accept: "application/json", Authorization: `Bearer ${token() || ""}` };
  const init = { method, headers, mode: "cors", credentials: "omit" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const answer = await fetch(`${base}${path}${query(params)}`, init);
  const text = await answer.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!answer.ok) throw new ApiError(service, answer.status, data);
  return data;
}

/** Call a service, answering null for a 404 (a service that knows nothing of the thing asked). */
export async function maybe(service, path, options) {
  try {
    return await call(service, path, options);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}
