"""Whether the pages read from one client session list leave a gap, and re-reading a gap.

A page read at some moment holds a run of the list. Sessions alive the whole time keep their
order, so two pages sharing such a session hold overlapping runs, and pages joined through
shared sessions hold one unbroken run between them. The list is read whole once the page read
at offset 0 is joined to a short page (the list's end). Sessions ending while the list is read
move the later ones down, in bursts when Keycloak's expiry runs: consecutive grid pages then
share nothing. Each such gap gets a repair (`Repair`) that reads pages until one joins the page
before the gap to a later grid page or to the list's end.
"""

from dataclasses import dataclass, field
from itertools import pairwise

from tokenadmin.keycloak.sessions import PAGE_SIZE

# Sessions each grid page repeats from the page before: a few sessions leaving the list
# between two reads shifts the rest down, and the overlap keeps the pages joined.
PAGE_OVERLAP = 10
PAGE_STEP = PAGE_SIZE - PAGE_OVERLAP
# The most a repair's pages overlap: beyond it, stepping back is cheaper.
MAX_OVERLAP = PAGE_SIZE // 2
# The node standing for the list's end in ListLinks' joins.
END = -1


@dataclass(frozen=True)
class Read:
    """A page as the joins need it: where it was read, its sessions' ids, how many."""

    first: int
    ids: frozenset[str]
    size: int

    @property
    def short(self) -> bool:
        return self.size < PAGE_SIZE


@dataclass
class ListLinks:
    """The grid pages of one list (page n read at offset n * PAGE_STEP) and how they join.

    `linked`: pages 0..linked are joined to page 0. Ids are kept for the pages from `linked`
    on, the ones a repair or a later page may still join."""

    ids: dict[int, frozenset[str]] = field(default_factory=dict)
    full: dict[int, bool] = field(default_factory=dict)
    parent: dict[int, int] = field(default_factory=dict)
    repairing: set[int] = field(default_factory=set)
    linked: int = 0
    last_requested: int = 0
    # Page 0 is joined to the list's end: no page more is needed.
    ended: bool = False

    def find(self, node: int) -> int:
        root = node
        while self.parent.get(root, root) != root:
            root = self.parent[root]
        while node != root:
            node, self.parent[node] = self.parent.get(node, node), root
        return root

    def join(self, a: int, b: int) -> None:
        self.parent[self.find(a)] = self.find(b)

    def grid_arrived(self, number: int, read: Read) -> list["Repair"]:
        """Grid page `number` came back: join it to its neighbours; the repairs to start."""
        self.ids[number] = read.ids
        self.full[number] = not read.short
        if read.short and read.size:
            self.join(number, END)
        repairs = []
        for low in (number - 1, number):
            repair = self._pair_check(low)
            if repair is not None:
                repairs.append(repair)
        return repairs

    def _pair_check(self, low: int) -> "Repair | None":
        high = low + 1
        if low < self.linked or low not in self.ids or high not in self.ids:
            return None
        if not self.full[low] or low in self.repairing or self.find(low) == self.find(high):
            return None
        if self.ids[low] & self.ids[high]:
            self.join(low, high)
            return None
        self.repairing.add(low)
        return Repair(self, low, low * PAGE_STEP)

    def repair_done(self, repair: "Repair") -> None:
        self.repairing.discard(repair.after)
        if repair.reached is not None:
            self.join(repair.after, repair.reached)

    def advance(self) -> int | None:
        """Move `linked` over the pages joined to page 0; the grid page to request next when
        the list goes on past the pages requested, else None."""
        if self.ended:
            return None
        start = self.find(0)
        if self.find(END) == start:
            self.ended = True
            self.ids.clear()
            return None
        while self.linked + 1 in self.ids and self.find(self.linked + 1) == start:
            del self.ids[self.linked]
            self.linked += 1
        last = self.linked
        if self.full.get(last) and last + 1 > self.last_requested:
            return last + 1
        return None


@dataclass
class Repair:
    """Re-reading the gap after grid page `after`, one page at a time.

    Back: from the gap's start, page by page (each overlapping the one read before, so the
    sessions of page `after`, which only moved down, cannot be stepped over), until a page
    shares a session with `anchor` or reads from offset 0. If every page of that walk shares a
    session with the next, the walk itself reaches up to where it started. Forward: until a
    page shares a session with a later grid page, or the list ends. A forward page sharing
    nothing with the page before it lost more sessions in between than the overlap: it is
    read again with twice the overlap, and past MAX_OVERLAP the walk goes back again."""

    links: ListLinks
    after: int
    first: int
    forward: bool = False
    # Back: the page of `after`; forward: the page read before.
    anchor: Read | None = None
    # The back walk's pages that did not find the anchor, the first one read first.
    walked: list[Read] = field(default_factory=list)
    overlap: int = PAGE_OVERLAP
    back: int = PAGE_STEP
    # What the gap was joined to: a grid page number, or END.
    reached: int | None = None

    def __post_init__(self) -> None:
        if self.anchor is None:
            ids = self.links.ids[self.after]
            self.anchor = Read(self.after * PAGE_STEP, ids, len(ids))

    @property
    def needed(self) -> bool:
        """False once the gap is closed otherwise (another repair, the list's end)."""
        links = self.links
        return not links.ended and links.find(self.after) != links.find(self.after + 1)

    def step(self, read: Read) -> int | None:
        """Take a page read at `self.first`: the offset to read next, or None when done."""
        anchor = self.anchor
        assert anchor is not None
        if not self.forward:
            if not (read.ids & anchor.ids) and read.first > 0:
                self.walked.append(read)  # the anchor's sessions moved below this page
                # Past the list's end (it shrank), each step back goes twice as far: no
                # session is stepped over there, and the forward walk reads from where the
                # anchor is found up to the end.
                self.back = self.back * 2 if not read.size else PAGE_STEP
                return max(0, read.first - self.back)
            self.forward = True
            # Empty pages (past the list's end) join nothing: the chain starts below them.
            empty = [n for n, walked in enumerate(self.walked) if not walked.size]
            below_end = self.walked[empty[-1] + 1 :] if empty else self.walked
            chain = [read, *reversed(below_end)]
            if all(low.ids & high.ids for low, high in pairwise(chain)):
                read = chain[-1]  # the walk is joined from the anchor to where it started
            self.walked = []
        elif not (read.ids & anchor.ids) and read.first > 0:
            # More sessions left below this page than the overlap since the page before.
            if self.overlap < MAX_OVERLAP:
                self.overlap = min(MAX_OVERLAP, self.overlap * 2)
                return max(0, anchor.first + anchor.size - self.overlap)
            self.forward = False  # find the page before again, then on
            return max(0, read.first - PAGE_STEP)
        return self._on(read)

    def _on(self, read: Read) -> int | None:
        """A page joined to the anchor: done if it reaches a later grid page or the list's
        end, else read on from it."""
        if read.short:
            self.reached = END
            return None
        for number, ids in self.links.ids.items():
            if number > self.after and read.ids & ids:
                self.reached = number
                return None
        self.anchor = read
        return read.first + read.size - self.overlap
