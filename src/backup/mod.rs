//! The backup of a model: written by migrate-to-ambient before its first change, read back as
//! the desired state `restore` reconciles toward.
//!
//! A backup is one ConfigMap in the model's namespace, named `ckf-migrator-backup-<UTC
//! YYYYmmdd-HHMMSS>[-N]` ([`BackupName`]), labelled [`MANAGED_BY_LABEL`]` = ckf-migrator` and
//! [`BACKUP_LABEL`]` = true`, whose key [`DATA_KEY`] holds YAML: the format version, the model's
//! name and UUID, when it was taken, every application (charm, channel, revision, trust, the
//! config a user set, scale, base), every relation, and the offers of other models that its
//! cross-model relations reach (`remote-applications`). Enough for a person to put the model back
//! by hand, and for `restore` to do it.
//!
//! This module owns that format and its two directions; it knows nothing of plans or of how a
//! restore orders its steps.
//! - `record`: the document as stored ([`Document`]), every field optional that ever was;
//! - `name`: the ConfigMap's name and the newest-backup rule ([`newest`]);
//! - `write`: [`write()`], from a FullStatus and each application's config, and [`capture`], the
//!   same reading of the live model kept in memory (what restore compares a backup with);
//! - `read`: [`read_backup`] (which ConfigMap, and is it there) and [`parse`] (is it a usable
//!   backup of this model), which turns a document into a [`Backup`] (`desired`) or refuses it
//!   with the one [`Problem`] found.
//!
//! Start reading at [`read_backup`]. Config values may be secrets a user set: they appear in no
//! error and no `Debug` output, only in the ConfigMap itself.

mod desired;
mod name;
mod read;
mod record;
mod write;

pub use desired::{Application, Backup, Config, ModelIdentity, Relation};
pub use name::{BackupName, NAME_PREFIX, newest, newest_first};
pub use read::{InvalidBackup, Problem, ReadError, list, parse, read_backup, read_from};
pub use record::{ApplicationRecord, BaseRecord, Document, FORMAT};
pub use write::{CaptureError, LIVE_MODEL, WriteError, capture, write};

/// Label on every backup ConfigMap, to list them with `kubectl get cm -l`.
pub const BACKUP_LABEL: &str = "ckf-migrator.canonical.com/backup";

/// The standard label naming the tool that manages an object.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";

/// The ConfigMap key that holds the backup document.
pub const DATA_KEY: &str = "model.yaml";
