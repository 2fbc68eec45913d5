//! One module per command.

pub mod bench;
pub mod bench_entities;
pub mod bench_oracle;
pub mod common;
pub mod demo;
pub mod devnet;
pub mod entities;
pub mod export_bitcoin;
pub mod export_evm;
pub mod features;
pub mod gnn;
pub mod graph;
pub mod labels;
pub mod lake;
pub mod load;
pub mod model;
pub mod oracle;
pub mod schema;
pub mod sql;
pub mod stream;
pub mod taint;

use std::process::ExitCode;

use crate::args::{
    BenchCommand, Cli, Command, DevnetCommand, EntitiesCommand, ExportCommand, GnnCommand,
    GraphCommand, LabelsCommand, LakeCommand, LoadCommand, ModelCommand, StreamCommand,
};

pub async fn run(cli: Cli) -> eyre::Result<ExitCode> {
    let quiet = cli.global.quiet;
    match cli.command {
        Command::Export(ExportCommand::Evm(a)) => export_evm::run(a, quiet).await,
        Command::Export(ExportCommand::Bitcoin(a)) => export_bitcoin::run(a, quiet).await,
        Command::Demo(a) => demo::run(a, quiet).await,
        Command::Devnet(DevnetCommand::Run(a)) => devnet::run(a).await,
        Command::Devnet(DevnetCommand::Litecoin(a)) => devnet::litecoin(a).await,
        Command::Sql(a) => sql::run(a, false).await,
        Command::Shell(a) => sql::run(a, true).await,
        Command::Entities(EntitiesCommand::Build(a)) => entities::build(a, quiet).await,
        Command::Entities(EntitiesCommand::Why(a)) => entities::why(a).await,
        Command::Graph(GraphCommand::Build(a)) => graph::build(a).await,
        Command::Graph(GraphCommand::Pagerank(a)) => graph::pagerank(a).await,
        Command::Graph(GraphCommand::Degree(a)) => graph::degree(a).await,
        Command::Graph(GraphCommand::Components(a)) => graph::components(a).await,
        Command::Graph(GraphCommand::Betweenness(a)) => graph::betweenness(a).await,
        Command::Graph(GraphCommand::Khop(a)) => graph::khop(a).await,
        Command::Graph(GraphCommand::Path(a)) => graph::path(a).await,
        Command::Graph(GraphCommand::Export(a)) => graph::export(a).await,
        Command::Taint(a) => taint::run(a).await,
        Command::Features(a) => features::run(a, quiet),
        Command::Labels(LabelsCommand::Import(a)) => labels::import(a),
        Command::Model(ModelCommand::Train(a)) => model::train(a),
        Command::Model(ModelCommand::Predict(a)) => model::predict(a),
        Command::Model(ModelCommand::Evaluate(a)) => model::evaluate(a),
        Command::Model(ModelCommand::Inspect(a)) => model::inspect(a),
        Command::Model(ModelCommand::Verify(a)) => model::verify(a),
        Command::Gnn(GnnCommand::Train(a)) => gnn::train(*a),
        Command::Gnn(GnnCommand::Predict(a)) => gnn::predict(a),
        Command::Gnn(GnnCommand::Embed(a)) => gnn::embed(a),
        Command::Gnn(GnnCommand::Wl(a)) => gnn::wl(a),
        Command::Similar(a) => gnn::similar(a),
        Command::Lake(LakeCommand::Check(a)) => lake::check(a).await,
        Command::Lake(LakeCommand::Compact(a)) => lake::compact(a).await,
        Command::Lake(LakeCommand::Convert(a)) => lake::convert(a).await,
        Command::Lake(LakeCommand::Hash(a)) => lake::hash(a).await,
        Command::Oracle(c) => {
            use crate::args::oracle::{OracleCommand as O, OracleRegisterCommand as R};
            match c {
                O::Deploy(a) => oracle::deploy(a).await,
                O::Register(R::Dataset(a)) => oracle::register_dataset(a).await,
                O::Register(R::Model(a)) => oracle::register_model(a).await,
                O::Request(a) => oracle::request(a).await,
                O::Run(a) => oracle::run(a).await,
                O::Verify(a) => oracle::verify_cmd(a).await,
                O::Status(a) => oracle::status(a).await,
            }
        }
        Command::Stream(StreamCommand::Evm(a)) => stream::evm(a).await,
        Command::Stream(StreamCommand::Bitcoin(a)) => stream::bitcoin(a).await,
        Command::Load(LoadCommand::Postgres(a)) => load::postgres(a, quiet).await,
        Command::Schema(a) => schema::run(a),
        Command::Bench(BenchCommand::RpcFloor(a)) => bench::run(a).await,
        Command::Bench(BenchCommand::Decode(a)) => bench::decode(a),
        Command::Bench(BenchCommand::Utxo(a)) => bench::utxo(a),
        Command::Bench(BenchCommand::Cluster(a)) => bench_entities::cluster(a),
        Command::Bench(BenchCommand::Pagerank(a)) => bench_entities::pagerank_bench(a),
        Command::Bench(BenchCommand::Lake(a)) => bench_entities::lake(a),
        Command::Bench(BenchCommand::Predict(a)) => model::bench_predict(a),
        Command::Bench(BenchCommand::Oracle(a)) => bench_oracle::run(a).await,
    }
}

/// A `--threads` value: 0 means one per core.
pub fn threads_or_cores(threads: usize) -> usize {
    if threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        threads
    }
}
