//! A one-connection TLS server on 127.0.0.1 (Python's `ssl`, the suites' interpreter) with a
//! self-signed certificate: an https webhook must be reached over TLS, and a certificate
//! that chains to no trusted root must be refused, not used.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use libtest_mimic::Failed;

use crate::support;

/// A throwaway self-signed server certificate for 127.0.0.1 and localhost (P-256, not a CA,
/// valid to 2126), with its key: it protects nothing, it only has to be untrusted.
const CERTIFICATE_AND_KEY: &str = "-----BEGIN CERTIFICATE-----
MIIBwTCCAWagAwIBAgIUMW/PsN4zos5p41AF522SMCdlFsgwCgYIKoZIzj0EAwIw
HTEbMBkGA1UEAwwSdmlnaWwgdGVzdCB3ZWJob29rMCAXDTI2MTEyMzAwMDY1NFoY
DzIxMjYxMDMwMDAwNjU0WjAdMRswGQYDVQQDDBJ2aWdpbCB0ZXN0IHdlYmhvb2sw
WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATlNxN569XZBCUnOESHQNW/MKxLDNZ3
Xmg8Y4mhoMym/zwxC6yc1O8FjcivyG9WovA53grxly74ACNH0aeoP4E1o4GBMH8w
HQYDVR0OBBYEFOe+acUUJUXu7HFcxRmIfnEtGIUHMB8GA1UdIwQYMBaAFOe+acUU
JUXu7HFcxRmIfnEtGIUHMBoGA1UdEQQTMBGHBH8AAAGCCWxvY2FsaG9zdDAMBgNV
HRMBAf8EAjAAMBMGA1UdJQQMMAoGCCsGAQUFBwMBMAoGCCqGSM49BAMCA0kAMEYC
IQCo5R7k3ExO8mZqyVPlbtTxeFdZIPnVYmn+dDkWdEcuPgIhAOhSA4fBbuFRGTt6
N4n9D33f7621Q7lcK8X+2nFS0gHx
-----END CERTIFICATE-----
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgwY+t3hNGLq704Yys
JaTQUnya7O/oLH8+4HnlJQIdAImhRANCAATlNxN569XZBCUnOESHQNW/MKxLDNZ3
Xmg8Y4mhoMym/zwxC6yc1O8FjcivyG9WovA53grxly74ACNH0aeoP4E1
-----END PRIVATE KEY-----
";

/// Prints its port, takes one connection, and says whether a request came over TLS or the
/// handshake failed (and why). It gives up after 60 s without a connection.
const SERVE: &str = r#"
import socket, ssl, sys
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[1])
listener = socket.create_server(("127.0.0.1", 0))
listener.settimeout(60)
print(listener.getsockname()[1], flush=True)
conn, _ = listener.accept()
conn.settimeout(30)
try:
    with context.wrap_socket(conn, server_side=True) as tls:
        tls.recv(1)
        print("request over TLS", flush=True)
except (ssl.SSLError, OSError) as e:
    print("handshake failed:", getattr(e, "reason", None) or e, flush=True)
"#;

pub struct TlsServer {
    pub port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

impl TlsServer {
    pub fn start() -> Result<TlsServer, Failed> {
        let dir = tempfile::tempdir()?;
        let pem = dir.path().join("localhost.pem");
        std::fs::write(&pem, CERTIFICATE_AND_KEY)?;
        let mut child = Command::new(support::python()?)
            .args(["-c", SERVE])
            .arg(&pem)
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.as_mut().ok_or("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let port = line
            .trim()
            .parse()
            .map_err(|_| format!("the TLS server printed {line:?}, not its port"))?;
        Ok(TlsServer {
            port,
            child,
            _dir: dir,
        })
    }

    /// What the server saw of its one connection.
    pub fn finish(self) -> Result<String, Failed> {
        let out = self.child.wait_with_output()?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }
}
