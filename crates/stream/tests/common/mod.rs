//! What the node tests share: one follower step and the window-equals-node check.

use ledgerflow_stream::{Event, Follower, Headers, Window};

/// A follower over a fresh window (blocks deeper than 12 are final), taking every new
/// block in one step.
pub fn follower() -> Follower {
    Follower::new(Window::new(12), 0, u64::MAX)
}

/// One step: the node's next event, applied to the follower.
pub async fn step<H: Headers>(f: &mut Follower, h: &H) -> Event
where
    H::Error: std::fmt::Debug,
{
    let e = f.next_event(h).await.unwrap().expect("the node changed");
    f.commit(&e);
    e
}

/// The window equals the node's chain at every height it holds, up to the node's head.
pub async fn same_as_node<H: Headers>(w: &Window, h: &H)
where
    H::Error: std::fmt::Debug,
{
    assert_eq!(w.tip().unwrap().number, h.head().await.unwrap());
    for b in w.blocks() {
        assert_eq!(Some(b.clone()), h.header(b.number).await.unwrap());
    }
}
