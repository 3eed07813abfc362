"""A text box whose words reach the script while they are typed, not only when the box is left.

Streamlit's own text area sends its value on Ctrl+Enter or when it loses focus, so what depends on
the text (the suggested type and the similar items of a new feedback item) would show only then.
This box (an ``st.components.v2`` component: a plain ``<textarea>``) sends its text after a short
pause in typing, and at once when it is left. The text is kept under ``key`` in the session as a
plain string; a page or a test puts text there to show it (``clear`` empties the box).
"""
from __future__ import annotations

import streamlit as st

_HTML = """
<div class="live">
  <label id="label" for="text" class="live__label"></label>
  <textarea id="text" class="live__text"></textarea>
</div>
"""

_CSS = """
*, *::before, *::after { box-sizing: border-box; margin: 0; padding: 0; }
.live { display: flex; flex-direction: column; width: 100%; font-family: var(--st-font, sans-serif);
        color: var(--st-text-color, inherit); }
.live__label { font-size: 14px; line-height: 1.6; margin-bottom: 4px; min-height: 1.4em; }
.live__text { width: 100%; resize: vertical; padding: 8px 12px; font-family: var(--st-font, sans-serif);
              font-size: 15px; line-height: 1.5; color: var(--st-text-color, inherit);
              background-color: var(--st-secondary-background-color, #f0f2f6);
              border: 1px solid rgba(127, 127, 127, 0.3); border-radius: 6px; outline: none; }
.live__text:focus { border-color: var(--st-primary-color, #ff4b4b); }
"""

# The value Python shows is adopted only while nobody is typing; a pause of ``pause`` ms, or leaving
# the box, sends the text (the script's echo of it ends the typing guard, never a timer).
_JS = r"""
export default function({ parentElement, data, setStateValue }) {
  const label = parentElement.querySelector("#label");
  const text = parentElement.querySelector("#text");
  label.textContent = data.label ?? "";
  text.setAttribute("aria-label", data.label ?? "");
  text.placeholder = data.placeholder ?? "";
  text.style.height = `${data.height ?? 120}px`;
  const fromPython = data.value ?? "";
  if (fromPython === text.value) {
    text._typing = false;
  } else if (!text._typing) {
    text.value = fromPython;
  }
  parentElement._pause = data.pause ?? 400;
  if (!parentElement._attached) {
    let timer = null;
    const send = () => { clearTimeout(timer); setStateValue("value", text.value); };
    text.addEventListener("input", () => {
      text._typing = true;
      clearTimeout(timer);
      timer = setTimeout(send, parentElement._pause);
    });
    text.addEventListener("blur", send);
    parentElement._attached = true;
  }
}
"""

_component = st.components.v2.component("ops_live_text", html=_HTML, css=_CSS, js=_JS, isolate_styles=True)
_GENERATION = "_live_text_generation"


def live_text_area(label: str, key: str, *, placeholder: str = "", height: int = 120, pause_ms: int = 400) -> str:
    """A text box whose text (returned, and kept under ``key``) follows the typing. Text put under
    ``key`` from outside (a page clearing the box, a test typing) since the last run is shown instead."""
    outside = st.session_state.get(key, "")
    if outside != st.session_state.get(_shown(key), ""):
        _renew(key)  # a new box in the browser, starting from that text
    inner = f"_live_{key}_{st.session_state.get(_GENERATION, {}).get(key, 0)}"
    state = st.session_state.get(inner)
    current = state["value"] if isinstance(state, dict) and state.get("value") is not None else outside
    result = _component(data={"label": label, "value": current, "placeholder": placeholder, "height": height,
                              "pause": pause_ms},
                        default={"value": current}, key=inner, on_value_change=lambda: None)
    value = result.value if getattr(result, "value", None) is not None else current
    st.session_state[key] = st.session_state[_shown(key)] = value
    return value


def _shown(key: str) -> str:
    return f"_live_{key}_shown"


def _renew(key: str) -> None:
    generations = dict(st.session_state.get(_GENERATION, {}))
    generations[key] = generations.get(key, 0) + 1
    st.session_state[_GENERATION] = generations


def clear(key: str) -> None:
    """An empty box on the next run."""
    st.session_state[key] = ""
