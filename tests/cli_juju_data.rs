//! The CLI finds the controller as `juju` does: the real `ckf-migrator plan` run against the twin
//! with no Juju connection flag, only a Juju client data directory (`~/.local/share/juju` under a
//! temporary `HOME`) written as `juju bootstrap` and `juju login` leave it, pointing at the twin.
//!
//! The child's environment is cleared: nothing of the test runner's (`JUJU_*`, `KUBECONFIG`, the
//! real `HOME`) can leak in and make a case pass.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use ckf_sim::{ADMIN_USER, Sim, Twin};
use serde_json::json;

/// Every wait in these tests is bounded by this.
const LIMIT: Duration = Duration::from_secs(120);
/// The name the fake client gives the twin's controller.
const CONTROLLER: &str = "ckf";

/// A running twin and a home directory whose Juju client knows it.
struct Client {
    sim: Sim,
    home: tempfile::TempDir,
    kubeconfig: PathBuf,
}

/// What the fake `accounts.yaml` holds for the controller.
enum Account {
    /// `user` and `password`, as `juju bootstrap` writes for its admin.
    Bootstrapped,
    /// `user` only, as after `juju login` or `juju change-user-password`.
    LoggedIn,
    /// `user` and a password the controller refuses.
    StalePassword,
}

impl Client {
    async fn start(account: Account) -> Self {
        let sim = tokio::time::timeout(LIMIT, Sim::start(Twin::ckf_1_11()))
            .await
            .expect("the twin starts in time")
            .expect("the twin starts");
        let home = tempfile::tempdir().expect("temp dir");
        let kubeconfig = sim.write_kubeconfig(home.path()).expect("kubeconfig");
        let client = Self {
            sim,
            home,
            kubeconfig,
        };
        client.write_juju_data(account);
        client
    }

    fn juju_data(&self) -> PathBuf {
        self.home.path().join(".local/share/juju")
    }

    /// controllers.yaml, models.yaml and accounts.yaml as Juju 3.6 writes them
    /// (`jujuclient/interface.go`), plus a second controller the twin is not.
    fn write_juju_data(&self, account: Account) {
        let dir = self.juju_data();
        std::fs::create_dir_all(&dir).expect("juju data dir");
        let controllers = json!({
            "controllers": {
                CONTROLLER: {
                    "uuid": "7c1e2d3f-aaaa-4bbb-8ccc-ddddeeeeffff",
                    "api-endpoints": [self.sim.juju_address()],
                    "ca-cert": self.sim.juju_ca_pem(),
                    "cloud": "microk8s",
                    "region": "localhost",
                    "type": "kubernetes",
                    "agent-version": "3.6.11",
                    "controller-machine-count": 1,
                    "active-controller-machine-count": 1,
                },
                "lab": {
                    "uuid": "11111111-2222-4333-8444-555555555555",
                    "api-endpoints": ["127.0.0.1:1"],
                    "ca-cert": self.sim.juju_ca_pem(),
                    "cloud": "microk8s",
                },
            },
            "current-controller": CONTROLLER,
        });
        let models = json!({
            "controllers": {
                CONTROLLER: {
                    "models": {
                        "admin/controller": {"uuid": "0b5d6f5e-0000-4000-8000-000000000000", "type": "caas", "branch": "master"},
                        format!("{ADMIN_USER}/{}", self.sim.model_name()): {"uuid": self.sim.model_uuid(), "type": "caas", "branch": "master"},
                    },
                    "current-model": format!("{ADMIN_USER}/{}", self.sim.model_name()),
                },
            },
        });
        let mut ckf_account = json!({"user": ADMIN_USER, "last-known-access": "superuser"});
        match account {
            Account::Bootstrapped => ckf_account["password"] = json!(self.sim.admin_password()),
            Account::StalePassword => ckf_account["password"] = json!("not-the-password"),
            Account::LoggedIn => {}
        }
        let accounts = json!({"controllers": {CONTROLLER: ckf_account}});
        for (name, value) in [
            ("controllers.yaml", controllers),
            ("models.yaml", models),
            ("accounts.yaml", accounts),
        ] {
            let yaml = serde_yaml::to_string(&value).expect("yaml");
            std::fs::write(dir.join(name), yaml).expect("write");
        }
    }

    /// The cookie jar `juju login` leaves (persistent-cookiejar's JSON; the value is opaque here).
    fn write_cookie_jar(&self) -> PathBuf {
        let dir = self.juju_data().join("cookies");
        std::fs::create_dir_all(&dir).expect("cookies dir");
        let jar = dir.join(format!("{CONTROLLER}.json"));
        let cookie = json!([{
            "Name": "macaroon-4f0d8b2a",
            "Value": "W3siYyI6W3siaSI6InRpbWUtYmVmb3JlIDIwMzAifV19XQ==",
            "Domain": "127.0.0.1",
            "Path": "/",
            "Secure": false,
            "HttpOnly": false,
            "Persistent": true,
            "HostOnly": true,
            "Expires": "2030-01-01T00:00:00Z",
            "Creation": "2029-12-31T00:00:00Z",
            "LastAccess": "2029-12-31T00:00:00Z",
            "Updated": "2029-12-31T00:00:00Z",
            "CanonicalHost": "127.0.0.1",
        }]);
        std::fs::write(&jar, cookie.to_string()).expect("jar");
        jar
    }

    /// `ckf-migrator <args>` with only `HOME` (and what `extra_env` adds) in its environment.
    async fn run(&self, args: &[&str], extra_env: &[(&str, &Path)]) -> Ran {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_ckf-migrator"));
        command
            .args(args)
            .env_clear()
            .env("HOME", self.home.path())
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        for (key, value) in extra_env {
            command.env(key, value);
        }
        let output = tokio::time::timeout(LIMIT, command.output())
            .await
            .expect("the CLI finishes in time")
            .expect("the CLI runs");
        let ran = Ran::from(output);
        assert!(
            !ran.stdout.contains(self.sim.admin_password())
                && !ran.stderr.contains(self.sim.admin_password()),
            "the password never shows:\n{}\n{}",
            ran.stdout,
            ran.stderr
        );
        ran
    }

    /// `plan` with `args` and `--kubeconfig` as the only flag of its kind.
    async fn plan(&self, args: &[&str]) -> Ran {
        let mut argv = vec!["plan"];
        argv.extend_from_slice(args);
        let kubeconfig = self.kubeconfig.display().to_string();
        argv.extend_from_slice(&["--kubeconfig", &kubeconfig]);
        self.run(&argv, &[]).await
    }
}

struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl From<Output> for Ran {
    fn from(output: Output) -> Self {
        Self {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

#[tokio::test]
async fn plan_dash_m_kubeflow_connects_with_the_juju_clients_files_alone() {
    let client = Client::start(Account::Bootstrapped).await;

    let ran = client.plan(&["-m", "kubeflow"]).await;

    assert_eq!(ran.code, Some(0), "{}\n{}", ran.stdout, ran.stderr);
    assert!(ran.stdout.contains("result: planned"), "{}", ran.stdout);
    assert!(
        ran.stderr.contains(&format!(
            "juju: model ckf:admin/kubeflow ({}) at {}, as admin",
            client.sim.model_uuid(),
            client.sim.juju_address()
        )),
        "the run says where it works:\n{}",
        ran.stderr
    );
}

#[tokio::test]
async fn with_no_model_named_the_current_model_is_used_and_kubeconfig_may_come_from_the_env() {
    let client = Client::start(Account::Bootstrapped).await;

    let ran = client
        .run(&["plan"], &[("KUBECONFIG", client.kubeconfig.as_path())])
        .await;

    assert_eq!(ran.code, Some(0), "{}\n{}", ran.stdout, ran.stderr);
    assert!(ran.stdout.contains("result: planned"), "{}", ran.stdout);
    assert!(
        ran.stderr
            .contains("the current model in `~/.local/share/juju/models.yaml`"),
        "the default is said:\n{}",
        ran.stderr
    );
}

#[tokio::test]
async fn an_account_without_password_or_cookies_names_accounts_yaml_and_the_fix() {
    let client = Client::start(Account::LoggedIn).await;

    let ran = client.plan(&["-m", "kubeflow"]).await;

    assert_eq!(ran.code, Some(1), "{}\n{}", ran.stdout, ran.stderr);
    assert!(
        ran.stderr.contains(
            "error: `~/.local/share/juju/accounts.yaml`: the account `admin` of controller `ckf` has no `password`"
        ),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr.contains("nor is there a login macaroon for it"),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr.contains(
            "pass --password-file FILE (the password of `admin`, one line) or set JUJU_PASSWORD"
        ),
        "{}",
        ran.stderr
    );
    assert_eq!(client.sim.model().writes_since_start(), 0);
}

#[tokio::test]
async fn an_account_logged_in_with_macaroons_names_the_cookie_jar_and_the_fix_works() {
    let client = Client::start(Account::LoggedIn).await;
    client.write_cookie_jar();
    let password = client.home.path().join("password");
    std::fs::write(&password, client.sim.admin_password()).expect("password");

    let refused = client.plan(&["-m", "kubeflow"]).await;
    let with_file = client
        .plan(&[
            "-m",
            "kubeflow",
            "--password-file",
            &password.display().to_string(),
        ])
        .await;

    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    assert!(
        refused.stderr.contains(
            "`~/.local/share/juju/accounts.yaml`: the account `admin` of controller `ckf` has no `password`: `juju login` left a login macaroon in `~/.local/share/juju/cookies/ckf.json`"
        ),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("pass --password-file FILE"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        with_file.code,
        Some(0),
        "{}\n{}",
        with_file.stdout,
        with_file.stderr
    );
    assert!(
        with_file.stdout.contains("result: planned"),
        "{}",
        with_file.stdout
    );
}

#[tokio::test]
async fn an_unknown_model_names_models_yaml_the_key_and_the_command_that_lists_models() {
    let client = Client::start(Account::Bootstrapped).await;

    let ran = client.plan(&["-m", "kubeflw"]).await;

    assert_eq!(ran.code, Some(1), "{}", ran.stderr);
    assert!(
        ran.stderr.contains(
            "error: `~/.local/share/juju/models.yaml`: controller `ckf` has no model `admin/kubeflw` under `models`"
        ),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr.contains("`juju models -c ckf` lists them"),
        "{}",
        ran.stderr
    );
}

#[tokio::test]
async fn an_unknown_controller_names_controllers_yaml_and_the_known_ones() {
    let client = Client::start(Account::Bootstrapped).await;

    let by_flag = client.plan(&["-c", "prod"]).await;
    let by_model = client.plan(&["-m", "prod:kubeflow"]).await;

    for ran in [&by_flag, &by_model] {
        assert_eq!(ran.code, Some(1), "{}", ran.stderr);
        assert!(
            ran.stderr.contains(
                "error: `~/.local/share/juju/controllers.yaml` has no controller `prod` under `controllers`"
            ),
            "{}",
            ran.stderr
        );
        assert!(
            ran.stderr
                .contains("controllers here: ckf, lab; `juju controllers` lists them"),
            "{}",
            ran.stderr
        );
    }
    assert!(
        by_flag
            .stderr
            .contains("--controller takes a controller name or HOST:PORT"),
        "{}",
        by_flag.stderr
    );
}

#[tokio::test]
async fn a_malformed_file_is_an_error_naming_it_not_a_panic() {
    let client = Client::start(Account::Bootstrapped).await;
    std::fs::write(
        client.juju_data().join("models.yaml"),
        "controllers:\n  ckf:\n    models: [\n",
    )
    .expect("write");

    let ran = client.plan(&["-m", "kubeflow"]).await;

    assert_eq!(ran.code, Some(1), "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("error: `~/.local/share/juju/models.yaml` is not a valid Juju models file ("),
        "{}",
        ran.stderr
    );
    assert!(!ran.stderr.contains("panicked"), "{}", ran.stderr);
}

#[tokio::test]
async fn no_juju_client_files_name_the_flags_or_juju_data() {
    let client = Client::start(Account::Bootstrapped).await;
    std::fs::remove_dir_all(client.juju_data()).expect("remove");

    let ran = client.plan(&["-m", "kubeflow"]).await;

    assert_eq!(ran.code, Some(1), "{}", ran.stderr);
    assert!(
        ran.stderr.contains(
            "error: `~/.local/share/juju/controllers.yaml` does not exist: no Juju controller is known here"
        ),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr
            .contains("or pass --controller, --model-uuid, --ca-cert, --username, --password-file"),
        "the flags that would do instead are named:\n{}",
        ran.stderr
    );
}

#[tokio::test]
async fn a_refused_password_from_accounts_yaml_is_blamed_on_that_file() {
    let client = Client::start(Account::StalePassword).await;

    let ran = client.plan(&["-m", "kubeflow"]).await;

    assert_eq!(ran.code, Some(1), "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("error: cannot log in to Juju as admin: "),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr.contains(
            "check the user (`~/.local/share/juju/accounts.yaml` controller `ckf` `user`) and the password (`~/.local/share/juju/accounts.yaml` controller `ckf` `password`)"
        ),
        "{}",
        ran.stderr
    );
    assert!(!ran.stderr.contains("not-the-password"), "{}", ran.stderr);
}
