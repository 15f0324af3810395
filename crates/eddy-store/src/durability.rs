//! How durable a store's writes are: fsynced (the default), or not at all for
//! throw-away stores. Read by the database writer and the blob files alike.

/// Whether writes are made durable before they are acknowledged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Durability {
    /// Every acknowledged write is fsynced (SQLite `synchronous=FULL`, blob files and
    /// the `blobs/` directory synced): it survives a crash of the machine.
    #[default]
    Full,
    /// Nothing is fsynced (SQLite `synchronous=OFF`): for throw-away stores
    /// (`eddy up --ephemeral`), whose data does not outlive the process anyway.
    SkipFsync,
}

impl Durability {
    /// Whether files and the database are fsynced.
    pub fn syncs(self) -> bool {
        self == Durability::Full
    }

    /// SQLite's `synchronous` setting for this durability.
    pub(crate) fn sqlite_synchronous(self) -> &'static str {
        match self {
            Durability::Full => "FULL",
            Durability::SkipFsync => "OFF",
        }
    }
}
