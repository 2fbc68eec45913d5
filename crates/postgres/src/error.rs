//! Loader errors, naming the chunk file, table or value involved.

use std::path::PathBuf;

/// A load failed.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// The database cannot be reached or refused the login.
    #[error("cannot connect to PostgreSQL at {url}: {message}")]
    Connect {
        /// The URL, password hidden.
        url: String,
        /// What the driver said.
        message: String,
    },
    /// A statement failed.
    #[error("PostgreSQL: {context}: {message}")]
    Sql {
        /// What was being done.
        context: String,
        /// The server's message.
        message: String,
    },
    /// A chunk file cannot be read.
    #[error("chunk {path}: {message}")]
    Chunk {
        /// The file.
        path: PathBuf,
        /// What happened.
        message: String,
    },
    /// A value cannot be written as its column's PostgreSQL type.
    #[error("column {column}, row {row}: {message}")]
    Value {
        /// The column.
        column: String,
        /// Row within its batch.
        row: usize,
        /// Why.
        message: String,
    },
    /// A column type has no PostgreSQL mapping.
    #[error("{0}")]
    Unsupported(String),
    /// The lake cannot be listed or is inconsistent.
    #[error("lake: {0}")]
    Lake(String),
}

/// A `tokio_postgres` error with what was being done.
pub fn sql(context: impl Into<String>) -> impl FnOnce(tokio_postgres::Error) -> PgError {
    let context = context.into();
    move |e| PgError::Sql {
        context,
        message: match e.as_db_error() {
            Some(db) => format!("{} ({})", db.message(), db.code().code()),
            None => e.to_string(),
        },
    }
}
