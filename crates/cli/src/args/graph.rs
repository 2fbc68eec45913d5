//! `ledgerflow graph …`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

#[derive(Debug, Subcommand)]
pub enum GraphCommand {
    /// Build the address and entity transaction graphs of a chain into the lake.
    ///
    /// UTXO chains: an edge from each input address to each output address of a
    /// transaction, carrying the output value times the input's share (GraphSense's
    /// estimate); the entity graph joins addresses by `address_entity` (run `entities
    /// build` first). EVM chains: ether moved by transactions (and, with --token, that
    /// token's transfers) between addresses; without an `address_entity` table every
    /// address is its own entity. Tables: address_graph, entity_graph (src_id, dst_id,
    /// src, dst, value, tx_count, first/last block and time).
    ///
    /// Examples:
    ///   ledgerflow graph build -l lake --chain bitcoin-regtest
    ///   ledgerflow graph build -l lake --chain anvil --token 0x5fbdb2315678afecb367f032d93f642f64180aa3
    #[command(verbatim_doc_comment)]
    Build(GraphBuildArgs),
    /// PageRank (value-weighted and unweighted) of every node: table <level>_pagerank;
    /// prints the top nodes.
    Pagerank(PagerankArgs),
    /// In/out degree and value of every node: table <level>_degrees; --plot draws the
    /// degree distribution (log-log).
    Degree(DegreeArgs),
    /// Weakly and strongly connected components: table <level>_components.
    Components(GraphArgs),
    /// Betweenness centrality (Brandes; exact, or from --samples seeded sources): table
    /// <level>_betweenness.
    Betweenness(BetweennessArgs),
    /// The nodes within --hops of the given nodes: table <level>_khop.
    Khop(KhopArgs),
    /// The shortest path (fewest hops) and the largest-value path (the one whose smallest
    /// edge value is largest) from one node to another: table <level>_paths.
    Path(PathArgs),
    /// Write the graph for graph databases: neo4j (nodes.csv and relationships.csv with
    /// Neo4j's import headers: neo4j-admin database import full
    /// --nodes=nodes.csv --relationships=relationships.csv), graphml, csv.
    Export(ExportGraphArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LevelArg {
    Address,
    Entity,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    /// The lake folder.
    #[arg(short, long, default_value = "lake", env = "LEDGERFLOW_LAKE")]
    pub lake: PathBuf,
    /// The chain folder.
    #[arg(long)]
    pub chain: String,
    /// Address or entity graph.
    #[arg(long, value_enum, default_value_t = LevelArg::Entity)]
    pub level: LevelArg,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct GraphBuildArgs {
    /// The lake folder.
    #[arg(short, long, default_value = "lake", env = "LEDGERFLOW_LAKE")]
    pub lake: PathBuf,
    /// The chain folder.
    #[arg(long)]
    pub chain: String,
    /// EVM: also the transfers of this token (its contract address).
    #[arg(long)]
    pub token: Option<String>,
    /// EVM: leave ether out (only the --token transfers).
    #[arg(long, requires = "token")]
    pub no_ether: bool,
}

#[derive(Debug, Args)]
pub struct PagerankArgs {
    #[command(flatten)]
    pub g: GraphArgs,
    /// Damping factor.
    #[arg(long, default_value_t = 0.85)]
    pub alpha: f64,
    /// Stop when an iteration changes the scores by less than nodes × tol (L1).
    #[arg(long, default_value_t = 1e-10)]
    pub tol: f64,
    /// Most iterations.
    #[arg(long, default_value_t = 200)]
    pub max_iter: usize,
    /// How many top nodes to print.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Threads (0: one per core); the scores are bit-identical for every count.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

#[derive(Debug, Args)]
pub struct DegreeArgs {
    #[command(flatten)]
    pub g: GraphArgs,
    /// Draw the in- and out-degree distributions (log-log) to FILE.svg or FILE.png.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// How many top nodes (by in-degree) to print.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
}

#[derive(Debug, Args)]
pub struct BetweennessArgs {
    #[command(flatten)]
    pub g: GraphArgs,
    /// Sources to sample (0: every node, exact).
    #[arg(long, default_value_t = 0)]
    pub samples: usize,
    /// Seed of the sample.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// How many top nodes to print.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DirectionArg {
    Out,
    In,
    Both,
}

#[derive(Debug, Args)]
pub struct KhopArgs {
    #[command(flatten)]
    pub g: GraphArgs,
    /// A start address (repeatable); at entity level any address of the entity.
    #[arg(long = "node", required = true)]
    pub nodes: Vec<String>,
    /// Hops.
    #[arg(long, default_value_t = 2)]
    pub hops: u32,
    /// Follow edges out (where value went), in (where it came from) or both ways.
    #[arg(long, value_enum, default_value_t = DirectionArg::Out)]
    pub direction: DirectionArg,
}

#[derive(Debug, Args)]
pub struct PathArgs {
    #[command(flatten)]
    pub g: GraphArgs,
    /// From this address.
    #[arg(long)]
    pub from: String,
    /// To this address.
    #[arg(long)]
    pub to: String,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GraphFormatArg {
    Neo4j,
    Graphml,
    Csv,
}

#[derive(Debug, Args)]
pub struct ExportGraphArgs {
    #[command(flatten)]
    pub g: GraphArgs,
    /// File format.
    #[arg(long, value_enum, default_value_t = GraphFormatArg::Neo4j)]
    pub format: GraphFormatArg,
    /// Folder for the files.
    #[arg(short, long)]
    pub output: PathBuf,
}
