"""The job progress: redrawn in place on a terminal, a plain line per change otherwise."""

import io

from tokenadmin.cli.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_one_bar_redrawn_in_place():
    stream = Terminal()
    progress = Progress(stream, label="job 7")
    for done in (0, 5, 5, 10):
        progress.show(done=done, total=10, listed=True)
    progress.end()

    frames = stream.getvalue().split("\r")[1:]
    assert len(frames) == 3  # an unchanged count is not drawn again
    assert frames[-1] == "job 7 [" + "#" * 30 + "] 10/10\n"
    assert frames[1].startswith("job 7 [" + "#" * 15 + "." * 15 + "]")


def test_a_pipe_gets_plain_lines():
    stream = io.StringIO()
    progress = Progress(stream, label="job 7")
    progress.show(done=0, total=0, listed=False)
    progress.show(done=3, total=10, listed=True)
    progress.end()

    assert stream.getvalue().splitlines() == [
        "job 7: 0/0+ (listing) sessions",
        "job 7: 3/10 sessions",
    ]
