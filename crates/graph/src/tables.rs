//! The lake tables of the graph layer. `<level>` is `address` or `entity`.

use ledgerflow_core::table::Timestamp;

ledgerflow_core::table! {
    /// `address_graph` / `entity_graph`: one row per directed pair that moved value, with
    /// the value (in the chain's base unit; a UTXO transaction's value split over its
    /// inputs by their share, as GraphSense estimates it), the transactions and the first
    /// and last time.
    pub struct EdgeRow = "graph" {
        /// Source node id (address id or entity id).
        src_id: i64,
        /// Target node id.
        dst_id: i64,
        /// Source address (for entities: the entity's smallest address).
        src: String,
        /// Target address.
        dst: String,
        /// Value moved (base units, as a float: wei exceed 64 bits).
        value: f64,
        /// Transactions.
        tx_count: i64,
        /// First block.
        first_block: i64,
        /// Last block.
        last_block: i64,
        /// Time of the first block.
        first_seen: Timestamp,
        /// Time of the last block.
        last_seen: Timestamp,
    }
}

ledgerflow_core::table! {
    /// `<level>_pagerank`.
    pub struct PageRankRow = "pagerank" {
        /// Node id.
        node_id: i64,
        /// Its address.
        node: String,
        /// PageRank over value-weighted edges.
        pagerank: f64,
        /// PageRank with every edge counted once.
        pagerank_unweighted: f64,
        /// Rank by `pagerank` (1 = highest).
        rank: i64,
    }
}

ledgerflow_core::table! {
    /// `<level>_degrees`.
    pub struct DegreeRow = "degrees" {
        /// Node id.
        node_id: i64,
        /// Its address.
        node: String,
        /// Distinct senders.
        in_degree: i64,
        /// Distinct receivers.
        out_degree: i64,
        /// Value received.
        in_value: f64,
        /// Value sent.
        out_value: f64,
    }
}

ledgerflow_core::table! {
    /// `<level>_components`: weakly and strongly connected components (each named by its
    /// smallest node id) and their sizes.
    pub struct ComponentRow = "components" {
        /// Node id.
        node_id: i64,
        /// Its address.
        node: String,
        /// Weakly connected component.
        wcc: i64,
        /// Its size.
        wcc_size: i64,
        /// Strongly connected component.
        scc: i64,
        /// Its size.
        scc_size: i64,
    }
}

ledgerflow_core::table! {
    /// `<level>_betweenness`.
    pub struct BetweennessRow = "betweenness" {
        /// Node id.
        node_id: i64,
        /// Its address.
        node: String,
        /// Betweenness centrality (normalised as networkx does).
        betweenness: f64,
        /// Sources used (all nodes: exact).
        sources: i64,
        /// Seed of the source sample (0 when exact).
        seed: i64,
    }
}

ledgerflow_core::table! {
    /// `<level>_khop`: the neighbourhood of the seeds.
    pub struct KhopRow = "khop" {
        /// The seeds, comma-separated.
        seeds: String,
        /// Node id.
        node_id: i64,
        /// Its address.
        node: String,
        /// Hops from the nearest seed.
        hops: i64,
    }
}

ledgerflow_core::table! {
    /// `<level>_paths`: the shortest and the largest-value path between two nodes, one
    /// row per edge.
    pub struct PathRow = "paths" {
        /// `shortest` or `widest`.
        kind: String,
        /// From.
        source: String,
        /// To.
        target: String,
        /// Position of the edge on the path (0 first).
        step: i64,
        /// Edge start.
        src: String,
        /// Edge end.
        dst: String,
        /// Edge value.
        value: f64,
    }
}
