//! Durable storage on redb: the key/value pairs the protocols `Persist`.
//!
//! One table per protocol. With `fsync = "always"` a batch of `Persist` effects is written
//! in one transaction and is on disk when [`Store::apply`] returns: the driver sends the
//! messages that depend on it only afterwards. With `fsync = "never"` batches are gathered
//! in memory (the latest value per key) and written by one durable commit about every
//! second, soon after the writes stop, and at shutdown; reads see them meanwhile.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};
use void_core::effect::Persisted;

const PBFT: TableDefinition<&[u8], &[u8]> = TableDefinition::new("pbft");

/// When commits reach the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fsync {
    /// Every batch is durable before the sends that depend on it (the default).
    Always,
    /// No transaction per batch: the writes are gathered in memory and reach the disk with
    /// the next durable commit, made at most [`NEVER_DURABLE_EVERY`] after the first of
    /// them, [`NEVER_IDLE`] after the last, and at shutdown. A crash of the process or the
    /// machine loses at most about a second; the replica then catches up from the others.
    Never,
}

/// With `fsync = "never"`, how long writes may stay in memory only.
pub const NEVER_DURABLE_EVERY: Duration = Duration::from_secs(1);

/// With `fsync = "never"`, how long without new writes counts as idle: an idle node's last
/// writes should not wait for the whole second.
pub const NEVER_IDLE: Duration = Duration::from_millis(50);

/// With `fsync = "never"`, gathered bytes that force a commit before the second is up
/// (bounds the memory a burst of large writes can hold).
const NEVER_MAX_PENDING_BYTES: usize = 64 << 20;

pub struct Store {
    db: Database,
    fsync: Fsync,
    /// Transactions committed to redb.
    pub commits: u64,
    /// `fsync = "never"`: writes not committed yet, the latest per key (`None` deletes).
    pending: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// Bytes gathered since the last commit (overwritten values included).
    pending_bytes: usize,
    /// When the oldest and the newest of the pending writes were gathered.
    first_pending: Instant,
    last_pending: Instant,
}

impl Store {
    pub fn open(path: &Path, fsync: Fsync) -> anyhow::Result<Store> {
        let db = Database::create(path).map_err(|e| match e {
            // Another process holds the file: most likely the same node running already.
            redb::DatabaseError::DatabaseAlreadyOpen => anyhow::anyhow!(
                "opening storage {}: another process has it open (is this node already running? see its node.pid)",
                path.display()
            ),
            e => anyhow::Error::new(e).context(format!("opening storage {}", path.display())),
        })?;
        let tx = db.begin_write()?;
        tx.open_table(PBFT)?;
        tx.commit()?;
        let now = Instant::now();
        Ok(Store {
            db,
            fsync,
            commits: 0,
            pending: BTreeMap::new(),
            pending_bytes: 0,
            first_pending: now,
            last_pending: now,
        })
    }

    /// Everything persisted so far, gathered writes included (what a restarted replica
    /// gets back).
    pub fn load(&self) -> anyhow::Result<Persisted> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(PBFT)?;
        let mut all = BTreeMap::new();
        for row in table.iter()? {
            let (k, v) = row?;
            all.insert(k.value().to_vec(), v.value().to_vec());
        }
        for (k, v) in &self.pending {
            match v {
                Some(v) => all.insert(k.clone(), v.clone()),
                None => all.remove(k),
            };
        }
        Ok(all.into_iter().collect())
    }

    /// Takes a batch of `Persist` effects: one durable transaction (`fsync = "always"`),
    /// or gathered for the next commit. True if it made a commit.
    pub fn apply(&mut self, batch: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> anyhow::Result<bool> {
        if batch.is_empty() {
            return Ok(false);
        }
        match self.fsync {
            Fsync::Always => {
                self.commit(batch)?;
                Ok(true)
            }
            Fsync::Never => {
                let now = Instant::now();
                if self.pending.is_empty() {
                    self.first_pending = now;
                }
                self.last_pending = now;
                for (k, v) in batch {
                    self.pending_bytes += k.len() + v.as_ref().map_or(0, Vec::len);
                    self.pending.insert(k, v);
                }
                if self.pending_bytes >= NEVER_MAX_PENDING_BYTES {
                    self.flush()?;
                    return Ok(true);
                }
                Ok(false)
            }
        }
    }

    /// One durable transaction with these writes.
    fn commit(&mut self, writes: impl IntoIterator<Item = (Vec<u8>, Option<Vec<u8>>)>) -> anyhow::Result<()> {
        let mut tx = self.db.begin_write()?;
        tx.set_durability(Durability::Immediate)?;
        {
            let mut table = tx.open_table(PBFT)?;
            for (k, v) in writes {
                match v {
                    Some(v) => {
                        table.insert(k.as_slice(), v.as_slice())?;
                    }
                    None => {
                        table.remove(k.as_slice())?;
                    }
                }
            }
        }
        tx.commit()?;
        self.commits += 1;
        Ok(())
    }

    /// When the gathered writes must reach the disk, if there are any.
    pub fn durable_due(&self) -> Option<Instant> {
        (!self.pending.is_empty())
            .then(|| (self.first_pending + NEVER_DURABLE_EVERY).min(self.last_pending + NEVER_IDLE))
    }

    /// Commits the gathered writes once they are due. True if it made a commit.
    pub fn flush_if_due(&mut self) -> anyhow::Result<bool> {
        if self.durable_due().is_some_and(|t| t <= Instant::now()) {
            self.flush()?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Makes everything written so far durable (at shutdown, whatever the policy).
    pub fn flush(&mut self) -> anyhow::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let writes = std::mem::take(&mut self.pending);
        self.pending_bytes = 0;
        self.commit(writes)
    }
}

impl Drop for Store {
    /// A store dropped on an error path still keeps what it gathered, if it can.
    fn drop(&mut self) {
        if let Err(e) = self.flush() {
            tracing::warn!("storage: gathered writes not committed: {e:#}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(k: &str, v: &str) -> (Vec<u8>, Option<Vec<u8>>) {
        (k.as_bytes().to_vec(), Some(v.as_bytes().to_vec()))
    }

    fn del(k: &str) -> (Vec<u8>, Option<Vec<u8>>) {
        (k.as_bytes().to_vec(), None)
    }

    fn value(all: &Persisted, k: &str) -> Option<String> {
        all.get(k.as_bytes()).map(|v| String::from_utf8_lossy(v).into_owned())
    }

    #[test]
    fn a_store_open_elsewhere_is_named_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.redb");
        let _first = Store::open(&path, Fsync::Always).unwrap();
        let Err(e) = Store::open(&path, Fsync::Always) else { panic!("opened twice") };
        assert!(e.to_string().contains("is this node already running?"), "{e}");
    }

    #[test]
    fn batches_survive_reopening_and_deletes_remove() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.redb");
        {
            let mut s = Store::open(&path, Fsync::Always).unwrap();
            assert!(s.apply(vec![put("a", "1"), put("b", "2")]).unwrap());
            assert!(s.apply(vec![del("a")]).unwrap());
            assert_eq!(s.commits, 2, "one transaction per batch");
        }
        let s = Store::open(&path, Fsync::Always).unwrap();
        let all = s.load().unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(value(&all, "b").as_deref(), Some("2"));
    }

    #[test]
    fn without_fsync_reads_see_gathered_writes_before_any_commit() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("db.redb"), Fsync::Never).unwrap();
        assert!(!s.apply(vec![put("a", "1"), put("b", "2"), put("c", "3")]).unwrap());
        s.flush().unwrap();
        assert!(!s.apply(vec![put("a", "4"), del("b")]).unwrap());
        assert!(!s.apply(vec![put("a", "5"), put("d", "6")]).unwrap());
        assert_eq!(s.commits, 1, "writes are gathered, not committed");
        let all = s.load().unwrap();
        let seen: Vec<_> = ["a", "b", "c", "d"].iter().map(|k| value(&all, k)).collect();
        assert_eq!(seen, [Some("5".into()), None, Some("3".into()), Some("6".into())]);
    }

    #[test]
    fn without_fsync_gathered_writes_become_one_commit_when_idle() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("db.redb"), Fsync::Never).unwrap();
        assert_eq!(s.durable_due(), None);
        let before = Instant::now();
        s.apply(vec![put("a", "1")]).unwrap();
        s.apply(vec![put("a", "2"), put("b", "3")]).unwrap();
        let due = s.durable_due().expect("gathered writes are due");
        assert!(due >= before + NEVER_IDLE && due <= Instant::now() + NEVER_IDLE, "due after the idle time");
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        assert!(s.flush_if_due().unwrap());
        assert_eq!((s.commits, s.durable_due()), (1, None), "one commit for every gathered write");
        assert!(!s.flush_if_due().unwrap());
    }

    #[test]
    fn without_fsync_busy_writes_commit_within_a_second() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("db.redb"), Fsync::Never).unwrap();
        s.apply(vec![put("a", "1")]).unwrap();
        // A second later, writes that keep coming do not postpone the commit.
        s.first_pending -= NEVER_DURABLE_EVERY;
        s.apply(vec![put("b", "2")]).unwrap();
        assert!(s.durable_due().unwrap() <= Instant::now());
        assert!(s.flush_if_due().unwrap());
        assert_eq!(s.commits, 1);
    }

    #[test]
    fn without_fsync_writes_survive_shutdown_and_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.redb");
        {
            let mut s = Store::open(&path, Fsync::Never).unwrap();
            s.apply(vec![put("a", "1"), put("b", "2")]).unwrap();
            s.apply(vec![del("a"), put("c", "3")]).unwrap();
            s.flush().unwrap();
            s.apply(vec![put("d", "4")]).unwrap();
            // Dropped with "d" gathered: the drop commits it.
        }
        let s = Store::open(&path, Fsync::Never).unwrap();
        let all = s.load().unwrap();
        let seen: Vec<_> = ["a", "b", "c", "d"].iter().map(|k| value(&all, k)).collect();
        assert_eq!(seen, [None, Some("2".into()), Some("3".into()), Some("4".into())]);
    }
}
