"""The one way an app makes an app above it act.

Apps import only downward (docs/architecture.md has the layers; import-linter holds them
in CI). A lower app calls a higher one's code in exactly one way: through a hook. The
lower app declares the hook in its own `hooks.py` (what happened, what it passes, what it
expects back) and calls it; the higher app connects its handler, by its dotted path, in
its `AppConfig.ready()`. So every such link is written down twice in a fixed place — the
declaration and the `ready()` that connects it — and `python manage.py hooks` (or
`describe()`) lists them all with their handlers.

Calls are synchronous and in the caller's transaction: what a handler writes commits or
rolls back with the caller's own work, and `transaction.on_commit` inside a handler waits
for the caller's commit. A hook with `single=True` has exactly one handler and returns its
answer; any other hook returns the list of its handlers' answers, in the order they were
connected (apps' order in INSTALLED_APPS).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.module_loading import import_string


class HookError(RuntimeError):
    """A hook was called without the handler it needs (an app missing from INSTALLED_APPS)."""


@dataclass
class Hook:
    name: str
    doc: str
    single: bool = False
    handlers: list[str] = field(default_factory=list)  # dotted paths, in connection order

    def connect(self, handler: str) -> None:
        """Connect the function at dotted path `handler` (once, however often `ready()`
        runs). It is imported at the first call, when every app is loaded."""
        if handler not in self.handlers:
            if self.single and self.handlers:
                raise HookError(f"{self.name} takes one handler; {self.handlers[0]} is connected already.")
            self.handlers.append(handler)

    def __call__(self, **kwargs: Any) -> Any:
        if self.single:
            if not self.handlers:
                raise HookError(f"Nothing handles {self.name}: is the app that does missing?")
            return _function(self.handlers[0])(**kwargs)
        return [_function(handler)(**kwargs) for handler in self.handlers]


_functions: dict[str, Callable[..., Any]] = {}


def _function(path: str) -> Callable[..., Any]:
    found = _functions.get(path)
    if found is None:
        found = _functions[path] = import_string(path)
    return found


REGISTRY: dict[str, Hook] = {}


def hook(name: str, doc: str, *, single: bool = False) -> Hook:
    """Declare a hook (in the declaring app's hooks.py)."""
    if name in REGISTRY:
        raise HookError(f"Hook {name} is declared twice.")
    REGISTRY[name] = declared = Hook(name=name, doc=doc, single=single)
    return declared


def describe() -> list[dict[str, Any]]:
    """Every hook, what it is for, and who handles it."""
    return [
        {
            "name": h.name,
            "doc": h.doc,
            "single": h.single,
            "handlers": list(h.handlers),
        }
        for h in sorted(REGISTRY.values(), key=lambda h: h.name)
    ]
