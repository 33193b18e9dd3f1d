import pytest
import torch

from uec_vlm.uec import BatchBuffer, BufferOverflow, ReplayBuffer, should_replay


def test_batch_buffer_fifo_pop():
    buf = BatchBuffer(n0=3)
    assert buf.capacity == 6
    buf.push(["a", "b"])
    assert not buf.ready() and buf.pop() == []
    buf.push(["c", "d"])
    assert buf.ready() and buf.pop() == ["a", "b", "c"]  # floor(4 / 3) * 3 oldest
    buf.push([])
    assert list(buf.items) == ["d"]


def test_batch_buffer_n0_larger_than_pushed():
    buf = BatchBuffer(n0=10)
    buf.push(range(4))
    assert not buf.ready() and buf.pop() == [] and len(buf) == 4


@pytest.mark.parametrize(
    "policy, kept", [("drop_oldest", [1, 2, 3, 4, 5, 6]), ("drop_newest", [0, 1, 2, 3, 4, 5])]
)
def test_batch_buffer_overflow_is_counted(policy, kept):
    buf = BatchBuffer(n0=3, overflow=policy)
    assert buf.push(range(7)) == 1
    assert list(buf.items) == kept and buf.dropped == 1
    assert buf.pop() == kept  # floor(6 / 3) * 3


def test_batch_buffer_overflow_error_and_state():
    buf = BatchBuffer(n0=2, overflow="error")
    buf.push([{"id": 1}])
    with pytest.raises(BufferOverflow, match="1 \\+ 4 pushed > capacity 4"):
        buf.push([{"id": i} for i in range(4)])
    assert len(buf) == 1
    other = BatchBuffer(n0=5)
    other.load_state_dict(buf.state_dict())
    assert (other.n0, other.capacity, list(other.items)) == (2, 4, [{"id": 1}])
    with pytest.raises(ValueError, match="uec.n0"):
        BatchBuffer(n0=0)
    with pytest.raises(ValueError, match="overflow must be one of"):
        BatchBuffer(n0=2, overflow="ignore")


def test_replay_buffer_sampling():
    rb = ReplayBuffer(n0=2, size_factor=2.0)
    rb.push([0])
    assert rb.sample(torch.Generator().manual_seed(0)) == []  # size 1 < n0
    rb.push([1, 2])
    a = rb.sample(torch.Generator().manual_seed(3))
    assert a == rb.sample(torch.Generator().manual_seed(3))
    assert len(a) == 2 and a == sorted(a) and set(a) <= {0, 1, 2}  # floor(3 / 2) * 2 in buffer order
    assert rb.push([3, 4]) == 1  # capacity 4: item 0 evicted, newest kept
    assert rb.sample() == [1, 2, 3, 4] and rb.evicted == 1 and len(rb) == 4  # full: whole buffer, nothing removed
    copy = ReplayBuffer(n0=7)
    copy.load_state_dict(rb.state_dict())
    copy.push([5])
    assert list(copy.items) == [2, 3, 4, 5]
    assert ReplayBuffer(n0=2, size_factor=1.5).capacity == 3


def test_should_replay():
    assert [should_replay(s, 5) for s in (0, 4, 5, 10)] == [False, False, True, True]
    assert not should_replay(5, 0)
