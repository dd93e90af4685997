"""Job progress: a bar redrawn in place on a terminal, plain lines otherwise (logs, CI)."""

from typing import TextIO

WIDTH = 30


class Progress:
    def __init__(self, stream: TextIO, *, label: str) -> None:
        self.stream = stream
        self.label = label
        self.tty = stream.isatty()
        self._last: tuple[int, int, bool] | None = None

    def show(self, *, done: int, total: int, listed: bool) -> None:
        state = (done, total, listed)
        if state == self._last:
            return
        self._last = state
        counts = f"{done}/{total}" if listed else f"{done}/{total}+ (listing)"
        if not self.tty:
            self.stream.write(f"{self.label}: {counts} sessions\n")
        else:
            filled = WIDTH * done // total if total else 0
            bar = "#" * filled + "." * (WIDTH - filled)
            self.stream.write(f"\r{self.label} [{bar}] {counts}")
        self.stream.flush()

    def end(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
