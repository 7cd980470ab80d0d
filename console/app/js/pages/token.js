// Signing in: the user pastes an API token; it stays in this tab's session storage only.

import { ApiError, call, forgetToken, setToken } from "../api.js";
import { h, notice, replace } from "../dom.js";

export async function render(container, { params }) {
  const input = h("input", {
    type: "password",
    name: "token",
    id: "token",
    autocomplete: "off",
    required: true,
    minlength: 16,
    size: 48,
  });
  const message = h("div");
  if (params.get("refused")) message.append(notice("error", "The services refused the token: paste another."));
  const form = h(
    "form",
    { class: "card sign-in", id: "sign-in" },
    h("h1", { text: "Sign in" }),
    h("p", {}, "Paste the API token (make up prints it; it is also in .leadflow/token). "
      + "It is kept in this tab's session storage and sent to the four services as a bearer token."),
    h("label", {}, "API token ", input),
    h("button", { type: "submit", text: "Sign in" }),
    message,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    setToken(input.value);
    try {
      await call("qualification", "/v1/statuses");
    } catch (error) {
      forgetToken();
      const why = error instanceof ApiError && error.status === 401 ? "the token is not known" : error.message;
      replace(message, notice("error", `Could not sign in: ${why}.`));
      if (!(error instanceof ApiError)) throw error;
      return;
    }
    const next = params.get("next");
    location.hash = next && next.startsWith("/") && !next.startsWith("/token") ? `#${next}` : "#/inbox";
  });
  replace(container, form);
  input.focus();
}
