//! Following a chain's tip: the recent canonical blocks, and what a node's newer blocks
//! mean for them (extend, or revert to a common ancestor and apply the new branch).
//!
//! [`Window`] keeps the blocks above the final (immutable) depth with their hashes and
//! parents. [`Window::link`] decides, for a run of new blocks fetched from the node, whether
//! they extend the tip or fork below it; [`resolve`] walks a node back to the common
//! ancestor through a [`Headers`] source. All of it is pure or generic over the source, so
//! reorgs of any shape are tested without a node.

use std::collections::VecDeque;
use std::future::Future;

use serde::{Deserialize, Serialize};

/// A block as the chain links it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockRef {
    /// Height.
    pub number: u64,
    /// Block hash (lower-case hex, as the lake stores it).
    pub hash: String,
    /// The parent's hash.
    pub parent_hash: String,
}

/// What the chain did, as every sink applies it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Event {
    /// New blocks on top of the tip.
    Committed {
        /// The blocks, in height order.
        new: Vec<BlockRef>,
    },
    /// The tip's last blocks were replaced: `old` (orphaned, highest first, to undo) and
    /// `new` (the canonical branch from the common ancestor up, to apply).
    Reorged {
        /// Orphaned blocks, highest first.
        old: Vec<BlockRef>,
        /// The new branch, in height order.
        new: Vec<BlockRef>,
    },
    /// Blocks removed with nothing in their place yet (a node rolled back), highest first.
    Reverted {
        /// Orphaned blocks, highest first.
        old: Vec<BlockRef>,
    },
}

impl Event {
    /// The blocks to undo, highest first.
    pub fn undo(&self) -> &[BlockRef] {
        match self {
            Event::Committed { .. } => &[],
            Event::Reorged { old, .. } | Event::Reverted { old } => old,
        }
    }

    /// The blocks to apply, in height order.
    pub fn apply(&self) -> &[BlockRef] {
        match self {
            Event::Committed { new } | Event::Reorged { new, .. } => new,
            Event::Reverted { .. } => &[],
        }
    }

    /// The lowest block the event undoes or applies: a sink replaces everything from there
    /// up (`None`: an empty event).
    pub fn lowest(&self) -> Option<u64> {
        self.undo()
            .iter()
            .chain(self.apply())
            .map(|b| b.number)
            .min()
    }
}

/// A chain-following failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// The node's chain forked below the final depth: blocks this follower treated as
    /// immutable changed. Nothing is applied; the operator decides (a larger
    /// `--confirmations`, or a re-export).
    #[error(
        "the node's chain differs from the stored one at or below final block {final_number} \
         ({stored} stored, {node} on the node): a reorganisation deeper than --confirmations; \
         nothing was applied"
    )]
    BelowFinal {
        /// The highest final block.
        final_number: u64,
        /// Its stored hash.
        stored: String,
        /// The node's hash at that height.
        node: String,
    },
    /// New blocks do not link to each other (the node changed branch while answering).
    #[error("block {number} does not link to block {parent_number} (parent {parent_hash}, got {hash}); the node changed branch while answering")]
    Unlinked {
        /// The block that does not link.
        number: u64,
        /// Its parent hash field.
        parent_hash: String,
        /// Height of the block before it.
        parent_number: u64,
        /// Hash of the block before it.
        hash: String,
    },
}

/// How a run of new blocks relates to the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// They start right above the tip and link to it.
    Extends,
    /// The first one's parent is not the tip: the branch forked at or below the tip.
    Forks,
}

/// The recent canonical blocks: everything above the final depth, plus the final block
/// itself (the anchor every later block must descend from).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Window {
    blocks: VecDeque<BlockRef>,
    confirmations: u64,
    /// The highest final block number so far: final stays final, even when the tip
    /// later moves down (a rollback).
    final_number: Option<u64>,
}

impl Window {
    /// An empty window; blocks deeper than `confirmations` below the tip are final.
    pub fn new(confirmations: u64) -> Self {
        Window {
            blocks: VecDeque::new(),
            confirmations,
            final_number: None,
        }
    }

    /// A window restored from a checkpoint's recent blocks (any order); the lowest is the
    /// final anchor.
    pub fn restore(confirmations: u64, mut blocks: Vec<BlockRef>) -> Self {
        blocks.sort_by_key(|b| b.number);
        let final_number = blocks.first().map(|b| b.number);
        let mut w = Window {
            blocks: blocks.into(),
            confirmations,
            final_number,
        };
        w.prune();
        w
    }

    /// The tip, if any block was seen.
    pub fn tip(&self) -> Option<&BlockRef> {
        self.blocks.back()
    }

    /// The blocks held, lowest first.
    pub fn blocks(&self) -> impl DoubleEndedIterator<Item = &BlockRef> {
        self.blocks.iter()
    }

    /// The highest final block: `confirmations` below the highest tip seen (the tip
    /// itself with 0). Blocks at or below it never change.
    pub fn final_number(&self) -> Option<u64> {
        self.final_number
    }

    /// The stored block at a height.
    pub fn get(&self, number: u64) -> Option<&BlockRef> {
        let first = self.blocks.front()?.number;
        self.blocks
            .get(usize::try_from(number.checked_sub(first)?).ok()?)
    }

    /// How `new` (non-empty, in height order, linked among themselves) relates to the tip.
    pub fn link(&self, new: &[BlockRef]) -> Result<Link, ChainError> {
        check_linked(new)?;
        let Some(first) = new.first() else {
            return Ok(Link::Extends);
        };
        match self.tip() {
            None => Ok(Link::Extends),
            Some(t) if first.number == t.number + 1 && first.parent_hash == t.hash => {
                Ok(Link::Extends)
            }
            Some(_) => Ok(Link::Forks),
        }
    }

    /// Applies an event (the caller has checked it with [`Window::link`] / [`resolve`]).
    pub fn apply(&mut self, e: &Event) {
        for b in e.undo() {
            if self.tip().is_some_and(|t| t.hash == b.hash) {
                self.blocks.pop_back();
            }
        }
        for b in e.apply() {
            self.blocks.push_back(b.clone());
        }
        self.prune();
    }

    /// Moves the final block up with the tip and drops blocks below it (the final block
    /// stays as the anchor).
    fn prune(&mut self) {
        if let Some(t) = self.tip() {
            let f = t.number.saturating_sub(self.confirmations);
            self.final_number = Some(self.final_number.map_or(f, |x| x.max(f)));
        }
        if let Some(f) = self.final_number {
            while self.blocks.front().is_some_and(|b| b.number < f) {
                self.blocks.pop_front();
            }
        }
    }
}

/// Checks that blocks in height order link to each other.
pub fn check_linked(blocks: &[BlockRef]) -> Result<(), ChainError> {
    for w in blocks.windows(2) {
        if w[1].number != w[0].number + 1 || w[1].parent_hash != w[0].hash {
            return Err(ChainError::Unlinked {
                number: w[1].number,
                parent_hash: w[1].parent_hash.clone(),
                parent_number: w[0].number,
                hash: w[0].hash.clone(),
            });
        }
    }
    Ok(())
}

/// Block headers by height from a node (`None`: no block at that height yet).
pub trait Headers {
    /// The source's error.
    type Error: From<ChainError>;
    /// The canonical block at `number`.
    fn header(&self, number: u64) -> impl Future<Output = Result<Option<BlockRef>, Self::Error>>;
    /// The node's head height.
    fn head(&self) -> impl Future<Output = Result<u64, Self::Error>>;
}

/// Follows a node: each call to [`Follower::next_event`] looks at the node once and says
/// what changed since the window (at most `max_blocks` new blocks at a time, so a
/// catch-up proceeds in bounded steps). The window moves only when the caller has applied
/// the event to its sinks ([`Follower::commit`]); an event whose rows could not be
/// fetched consistently is simply asked for again.
#[derive(Debug, Clone)]
pub struct Follower {
    window: Window,
    start: u64,
    max_blocks: u64,
}

impl Follower {
    /// Follows from `window` (a restored checkpoint), or from block `start` when it is
    /// empty.
    pub fn new(window: Window, start: u64, max_blocks: u64) -> Self {
        Follower {
            window,
            start,
            max_blocks: max_blocks.max(1),
        }
    }

    /// The window as of the last committed event.
    pub fn window(&self) -> &Window {
        &self.window
    }

    /// The next event, or `None` when the window is at the node's head.
    pub async fn next_event<H: Headers>(&self, node: &H) -> Result<Option<Event>, H::Error> {
        let head = node.head().await?;
        self.next_event_at(node, head).await
    }

    /// [`Follower::next_event`] with the node's head already read (`head`).
    pub async fn next_event_at<H: Headers>(
        &self,
        node: &H,
        head: u64,
    ) -> Result<Option<Event>, H::Error> {
        let from = self.window.tip().map_or(self.start, |t| t.number + 1);
        if from > head {
            // nothing new: is the tip still the node's? (a rollback or a same-height reorg)
            let Some(tip) = self.window.tip() else {
                return Ok(None);
            };
            if node
                .header(tip.number)
                .await?
                .is_some_and(|h| h.hash == tip.hash)
            {
                return Ok(None);
            }
            return resolve(&self.window, &[], node).await.map(Some);
        }
        let to = head.min(from.saturating_add(self.max_blocks - 1));
        let mut new = Vec::new();
        for n in from..=to {
            match node.header(n).await? {
                Some(h) => new.push(h),
                None => break,
            }
        }
        if check_linked(&new).is_err() {
            // the node moved while answering: look again next time
            return Ok(None);
        }
        Ok(Some(match self.window.link(&new)? {
            Link::Extends if !new.is_empty() => Event::Committed { new },
            Link::Extends => return Ok(None),
            Link::Forks => resolve(&self.window, &new, node).await?,
        }))
    }

    /// Records that `event` was applied by every sink.
    pub fn commit(&mut self, event: &Event) {
        self.window.apply(event);
    }

    /// The window `event` leads to (what a sink stores as its checkpoint with it).
    pub fn window_after(&self, event: &Event) -> Window {
        let mut w = self.window.clone();
        w.apply(event);
        w
    }
}

/// Resolves a fork: walks the window down from its tip, asking the node for its block at
/// each height, to the highest block both agree on (never below the final block), and
/// returns the event that undoes the window's blocks above it and applies `new`'s branch
/// from there. `new` are blocks fetched from the node (linked, in height order) that do
/// not extend the tip; the node's blocks between the ancestor and `new` are fetched too.
pub async fn resolve<H: Headers>(
    window: &Window,
    new: &[BlockRef],
    node: &H,
) -> Result<Event, H::Error> {
    check_linked(new)?;
    let final_number = window.final_number().unwrap_or(0);
    let mut old: Vec<BlockRef> = Vec::new();
    let mut ancestor: Option<&BlockRef> = None;
    for b in window.blocks.iter().rev() {
        let theirs = node.header(b.number).await?;
        if theirs.as_ref().is_some_and(|t| t.hash == b.hash) {
            ancestor = Some(b);
            break;
        }
        if b.number <= final_number {
            return Err(ChainError::BelowFinal {
                final_number,
                stored: b.hash.clone(),
                node: theirs.map(|t| t.hash).unwrap_or_else(|| "none".into()),
            }
            .into());
        }
        old.push(b.clone());
    }
    let Some(ancestor) = ancestor else {
        if let Some(low) = window.blocks.front() {
            // every held block differs, the final anchor included
            return Err(ChainError::BelowFinal {
                final_number,
                stored: low.hash.clone(),
                node: "another branch".into(),
            }
            .into());
        }
        // an empty window: nothing to undo
        return Ok(Event::Committed { new: new.to_vec() });
    };
    // the node's branch from the ancestor up to `new` (or `new` itself when it starts
    // right above the ancestor; blocks of `new` at or below the ancestor are dropped)
    // (at least up to the old tip's height: a same-height replacement is a reorg, not a
    // rollback)
    let mut branch: Vec<BlockRef> = Vec::new();
    let upto = match new.first() {
        Some(f) => f.number.saturating_sub(1),
        None => window.tip().map_or(0, |t| t.number),
    };
    for n in ancestor.number + 1..=upto {
        match node.header(n).await? {
            Some(h) => branch.push(h),
            None => break,
        }
    }
    branch.extend(new.iter().filter(|b| b.number > ancestor.number).cloned());
    let mut linked = vec![ancestor.clone()];
    linked.extend(branch.iter().cloned());
    check_linked(&linked)?;
    Ok(if branch.is_empty() {
        Event::Reverted { old }
    } else if old.is_empty() {
        Event::Committed { new: branch }
    } else {
        Event::Reorged { old, new: branch }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A chain of blocks `0..=n` whose hashes carry a branch label.
    fn branch(from: &[BlockRef], start: u64, end: u64, label: &str) -> Vec<BlockRef> {
        let mut out: Vec<BlockRef> = from.iter().filter(|b| b.number < start).cloned().collect();
        for n in start..=end {
            let parent = out.last().map(|b| b.hash.clone()).unwrap_or_default();
            out.push(BlockRef {
                number: n,
                hash: format!("{label}{n}"),
                parent_hash: parent,
            });
        }
        out
    }

    struct Node(BTreeMap<u64, BlockRef>);

    impl Node {
        fn of(chain: &[BlockRef]) -> Self {
            Node(chain.iter().map(|b| (b.number, b.clone())).collect())
        }
    }

    impl Headers for Node {
        type Error = ChainError;
        async fn header(&self, number: u64) -> Result<Option<BlockRef>, ChainError> {
            Ok(self.0.get(&number).cloned())
        }
        async fn head(&self) -> Result<u64, ChainError> {
            Ok(self.0.keys().next_back().copied().unwrap_or(0))
        }
    }

    fn window_of(chain: &[BlockRef], confirmations: u64) -> Window {
        let mut w = Window::new(confirmations);
        w.apply(&Event::Committed {
            new: chain.to_vec(),
        });
        w
    }

    #[test]
    fn extends_and_prunes_to_the_final_anchor() {
        let a = branch(&[], 0, 20, "a");
        let w = window_of(&a[..=10], 3);
        assert_eq!(w.final_number(), Some(7));
        assert_eq!(
            w.blocks().next().unwrap().number,
            7,
            "final block kept as anchor"
        );
        assert_eq!(w.link(&a[11..15]).unwrap(), Link::Extends);
        assert_eq!(
            w.link(&a[12..15]).unwrap(),
            Link::Forks,
            "a gap is not an extension"
        );
        let e = check_linked(&[a[3].clone(), a[5].clone()]).unwrap_err();
        assert!(matches!(e, ChainError::Unlinked { number: 5, .. }));
        let restored = Window::restore(3, w.blocks().cloned().rev().collect());
        assert_eq!(restored, w);
    }

    #[tokio::test]
    async fn reorg_to_a_longer_branch() {
        let a = branch(&[], 0, 10, "a");
        let w = window_of(&a, 5);
        // the node replaced 8..=10 and went on to 12
        let b = branch(&a, 8, 12, "b");
        let node = Node::of(&b);
        let new = &b[11..=12];
        assert_eq!(w.link(new).unwrap(), Link::Forks);
        let e = resolve(&w, new, &node).await.unwrap();
        let Event::Reorged { old, new } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(
            old.iter().map(|b| b.hash.as_str()).collect::<Vec<_>>(),
            ["a10", "a9", "a8"]
        );
        assert_eq!(
            new.iter().map(|b| b.hash.as_str()).collect::<Vec<_>>(),
            ["b8", "b9", "b10", "b11", "b12"]
        );
        let mut w2 = w.clone();
        w2.apply(&e);
        assert_eq!(w2.tip().unwrap().hash, "b12");
        assert_eq!(w2.get(8).unwrap().hash, "b8");
        assert_eq!(w2.get(7).unwrap().hash, "a7");
    }

    #[tokio::test]
    async fn same_height_replacement_and_rollback() {
        let a = branch(&[], 0, 10, "a");
        let w = window_of(&a, 5);
        // one block replaced at the same height (anvil_reorg depth 1)
        let b = branch(&a, 10, 10, "b");
        let e = resolve(&w, &b[10..], &Node::of(&b)).await.unwrap();
        assert_eq!(
            e,
            Event::Reorged {
                old: vec![a[10].clone()],
                new: vec![b[10].clone()]
            }
        );
        // a rollback of two blocks with nothing new yet (anvil_rollback 2)
        let node = Node::of(&a[..=8]);
        let e = resolve(&w, &[], &node).await.unwrap();
        assert_eq!(
            e,
            Event::Reverted {
                old: vec![a[10].clone(), a[9].clone()]
            }
        );
        let mut w2 = w.clone();
        w2.apply(&e);
        assert_eq!(w2.tip().unwrap().number, 8);
    }

    #[tokio::test]
    async fn a_fork_below_the_final_block_is_refused() {
        let a = branch(&[], 0, 10, "a");
        let w = window_of(&a, 2); // final: 8
        let b = branch(&a, 7, 11, "b");
        let e = resolve(&w, &b[11..], &Node::of(&b)).await.unwrap_err();
        assert!(
            matches!(
                e,
                ChainError::BelowFinal {
                    final_number: 8,
                    ..
                }
            ),
            "{e:?}"
        );
        // final stays final after a rollback moves the tip down
        let mut w1 = w.clone();
        w1.apply(&Event::Reverted {
            old: vec![a[10].clone(), a[9].clone()],
        });
        assert_eq!(w1.final_number(), Some(8));
        let b = branch(&a, 8, 9, "b");
        let e = resolve(&w1, &b[9..], &Node::of(&b)).await.unwrap_err();
        assert!(matches!(e, ChainError::BelowFinal { .. }), "{e:?}");
        // with confirmations 0 the tip itself is final: any fork is too deep
        let w0 = window_of(&a, 0);
        let b = branch(&a, 10, 11, "b");
        assert!(resolve(&w0, &b[11..], &Node::of(&b)).await.is_err());
    }

    #[tokio::test]
    async fn random_reorgs_keep_the_window_equal_to_the_node() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut chain = branch(&[], 0, 5, "g");
        let mut w = window_of(&chain, 12);
        for round in 0..300 {
            let tip = chain.last().unwrap().number;
            // a reorg of depth 1..=10 half of the time, then 0..3 new blocks
            // never below the final block (that is the error case, tested above)
            let room = tip - w.final_number().unwrap();
            let fork_at = if rng.gen_bool(0.5) && room > 0 {
                tip + 1 - rng.gen_range(1..=10u64).min(room)
            } else {
                tip + 1
            };
            if rng.gen_bool(0.1) && room > 3 {
                // a rollback with nothing in its place yet
                chain.truncate((tip + 1 - rng.gen_range(1..=3u64)) as usize);
            } else {
                let end = tip.max(fork_at) + rng.gen_range(0..3);
                chain = branch(&chain, fork_at, end, &format!("r{round}_"));
            }
            let node = Node::of(&chain);
            let node_tip = chain.last().unwrap().number;
            // the follower catches up in steps of at most 4 blocks
            let mut f = Follower::new(w.clone(), 0, 4);
            while let Some(e) = f.next_event(&node).await.unwrap() {
                f.commit(&e);
            }
            w = f.window().clone();
            for b in w.blocks() {
                assert_eq!(Some(b), node.0.get(&b.number), "round {round}");
            }
            assert_eq!(w.tip().unwrap().number, node_tip, "round {round}");
        }
    }
}
