"""How pages join (tokenadmin/sessionindex/paging_links.py), over a list held in memory: the
cases a burst of expiry makes, step by step, without threads or a Keycloak."""

from tokenadmin.sessionindex.paging_links import PAGE_STEP, ListLinks, Read


class ShrinkingList:
    """A client session list: pages are slices of it at the moment they are read."""

    def __init__(self, size: int) -> None:
        self.sessions = [f"s{n:05}" for n in range(size)]
        self.seen: set[str] = set()

    def read(self, first: int) -> Read:
        ids = self.sessions[first : first + 100]
        self.seen.update(ids)
        return Read(first, frozenset(ids), len(ids))

    def burst(self, start: int, count: int) -> None:
        del self.sessions[start : start + count]


def repairs_run(links: ListLinks, repairs: list, held: ShrinkingList) -> int:
    reads = 0
    for repair in repairs:
        while repair.needed:
            reads += 1
            following = repair.step(held.read(repair.first))
            if following is None:
                links.repair_done(repair)
                break
            repair.first = following
    return reads


def test_pages_read_around_a_burst_join_through_short_repairs_and_miss_nothing():
    held = ShrinkingList(1000)
    links = ListLinks()
    # Pages 0, 2, 3 and 4 are read, then 250 sessions below page 1's end end at once, then
    # page 1 is read: it now holds sessions that were above page 3's start.
    for number in (0, 2, 3, 4):
        assert links.grid_arrived(number, held.read(number * PAGE_STEP)) == []
    held.burst(20, 250)
    repairs = links.grid_arrived(1, held.read(PAGE_STEP))
    assert [repair.after for repair in repairs] == [0, 1]

    reads = repairs_run(links, repairs, held)

    assert reads <= 6
    assert links.find(0) == links.find(4)
    # The rest of the list, read now: the list ends at a short page.
    for number in range(5, 1 + len(held.sessions) // PAGE_STEP):
        more = links.grid_arrived(number, held.read(number * PAGE_STEP))
        repairs_run(links, more, held)
    assert links.advance() is None and links.ended
    assert set(held.sessions) <= held.seen


def test_a_gap_near_the_end_of_a_list_that_shrank_steps_back_by_doubling():
    held = ShrinkingList(5000)
    links = ListLinks()
    links.grid_arrived(50, held.read(50 * PAGE_STEP))
    held.burst(0, 3000)  # the list is now shorter than page 50's offset
    [repair] = links.grid_arrived(51, held.read(51 * PAGE_STEP))

    reads = repairs_run(links, [repair], held)

    # 4,500 sessions back to the list's end: doubling steps, not 50 pages of 90.
    assert reads <= 10
    assert repair.reached is not None
