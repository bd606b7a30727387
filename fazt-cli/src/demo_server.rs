//! The demo's upstream: an HTTPS server on `127.0.0.1` with a certificate
//! from a certificate authority made when the demo starts, kept in memory
//! and gone when it ends. It serves what the tour needs and nothing else,
//! and bounds everything it reads from a connection.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

/// The longest request line or header line the server reads.
const MAX_LINE: u64 = 8 * 1024;
/// The most header lines in one request.
const MAX_HEADERS: usize = 100;
/// The largest request body it reads.
const MAX_BODY: usize = 1024 * 1024;
/// How long a connection may sit idle.
const IDLE: Duration = Duration::from_secs(15);

/// Why the demo server could not start.
#[derive(Debug)]
pub(crate) enum DemoServerError {
    /// The certificate authority or the server certificate.
    Certificate(rcgen::Error),
    /// The TLS configuration.
    Tls(rustls::Error),
    /// The listening socket.
    Io(std::io::Error),
}

/// A certificate authority for one demo and a server certificate it signed.
pub(crate) struct DemoCa {
    /// The authority's certificate, PEM: what the demo's client trusts.
    pub(crate) ca_pem: String,
    config: Arc<rustls::ServerConfig>,
}

impl DemoCa {
    /// A new authority and a certificate for `names`.
    pub(crate) fn new(names: &[&str]) -> Result<DemoCa, DemoServerError> {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
        let cert_err = DemoServerError::Certificate;
        let ca_key = KeyPair::generate().map_err(cert_err)?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(cert_err)?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "fazt demo CA");
        let ca_cert = ca_params.self_signed(&ca_key).map_err(cert_err)?;
        let issuer = Issuer::new(ca_params, ca_key);
        let key = KeyPair::generate().map_err(cert_err)?;
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let cert = CertificateParams::new(names)
            .map_err(cert_err)?
            .signed_by(&key, &issuer)
            .map_err(cert_err)?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(DemoServerError::Tls)?
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .map_err(DemoServerError::Tls)?;
        Ok(DemoCa {
            ca_pem: ca_cert.pem(),
            config: Arc::new(config),
        })
    }
}

/// A request as the server read it.
#[derive(Debug)]
pub(crate) struct DemoRequest {
    /// Path and query.
    pub(crate) target: String,
    /// Headers, lowercase names.
    pub(crate) headers: Vec<(String, String)>,
}

impl DemoRequest {
    /// The first value of header `name` (lowercase).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the server answers.
#[derive(Debug)]
pub(crate) struct DemoReply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

impl DemoReply {
    /// A 200 with `body`.
    pub(crate) fn ok(body: impl Into<Vec<u8>>) -> DemoReply {
        DemoReply {
            status: 200,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// An empty answer with `status`.
    pub(crate) fn status(status: u16) -> DemoReply {
        DemoReply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A redirect to `location`.
    pub(crate) fn redirect(status: u16, location: &str) -> DemoReply {
        DemoReply::status(status).header("location", location)
    }

    /// Adds a header.
    pub(crate) fn header(mut self, name: &'static str, value: &str) -> DemoReply {
        self.headers.push((name, value.to_string()));
        self
    }

    fn write_to(&self, out: &mut impl Write) -> std::io::Result<()> {
        let mut head = format!("HTTP/1.1 {} Demo\r\n", self.status);
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!("content-length: {}\r\n\r\n", self.body.len()));
        out.write_all(head.as_bytes())?;
        out.write_all(&self.body)?;
        out.flush()
    }
}

type Handler = dyn Fn(&DemoRequest) -> DemoReply + Send + Sync;

/// The server; it stops accepting when dropped.
pub(crate) struct DemoServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl DemoServer {
    /// Listens on a free port of `127.0.0.1` with `ca`'s certificate and
    /// answers every request with `handler`.
    pub(crate) fn start(
        ca: &DemoCa,
        handler: impl Fn(&DemoRequest) -> DemoReply + Send + Sync + 'static,
    ) -> Result<DemoServer, DemoServerError> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(DemoServerError::Io)?;
        let addr = listener.local_addr().map_err(DemoServerError::Io)?;
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let (config, stopping) = (Arc::clone(&ca.config), Arc::clone(&stop));
        std::thread::Builder::new()
            .name("fazt-demo-upstream".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    if stopping.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(conn) = conn else { continue };
                    let (config, handler) = (Arc::clone(&config), Arc::clone(&handler));
                    // A connection that cannot get a thread is dropped.
                    let _ = std::thread::Builder::new()
                        .name("fazt-demo-conn".into())
                        .spawn(move || serve(conn, config, handler.as_ref()));
                }
            })
            .map_err(DemoServerError::Io)?;
        Ok(DemoServer { addr, stop })
    }

    /// The port it listens on.
    pub(crate) fn port(&self) -> u16 {
        self.addr.port()
    }
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}

/// Serves keep-alive requests on one connection until it closes, idles or
/// sends something the server does not read.
fn serve(conn: TcpStream, config: Arc<rustls::ServerConfig>, handler: &Handler) {
    if conn.set_read_timeout(Some(IDLE)).is_err() {
        return;
    }
    let Ok(tls) = rustls::ServerConnection::new(config) else {
        return;
    };
    let mut reader = BufReader::new(rustls::StreamOwned::new(tls, conn));
    while let Some(request) = read_request(&mut reader) {
        if handler(&request).write_to(reader.get_mut()).is_err() {
            return;
        }
    }
}

/// One line, at most [`MAX_LINE`] bytes, without its line end; `None` at
/// the end of the stream, on an error or on a longer line.
fn read_line<R: Read>(reader: &mut BufReader<R>) -> Option<String> {
    let mut line = Vec::new();
    let n = reader
        .by_ref()
        .take(MAX_LINE)
        .read_until(b'\n', &mut line)
        .ok()?;
    if n == 0 || line.last() != Some(&b'\n') {
        return None;
    }
    let line = String::from_utf8(line).ok()?;
    Some(line.trim_end_matches(['\r', '\n']).to_string())
}

fn read_request<R: Read>(reader: &mut BufReader<R>) -> Option<DemoRequest> {
    let line = read_line(reader)?;
    let target = line.split_whitespace().nth(1)?.to_string();
    let mut headers = Vec::new();
    loop {
        let h = read_line(reader)?;
        if h.is_empty() {
            break;
        }
        if headers.len() == MAX_HEADERS {
            return None;
        }
        let (n, v) = h.split_once(':')?;
        headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let len = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map_or(Some(0), |(_, v)| v.parse::<usize>().ok())?;
    if len > MAX_BODY {
        return None;
    }
    // The tour's requests carry no body worth keeping: read and drop it.
    std::io::copy(&mut reader.by_ref().take(len as u64), &mut std::io::sink()).ok()?;
    Some(DemoRequest { target, headers })
}

impl std::fmt::Display for DemoServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DemoServerError::Certificate(e) => write!(f, "demo certificate: {e}"),
            DemoServerError::Tls(e) => write!(f, "demo TLS configuration: {e}"),
            DemoServerError::Io(e) => write!(f, "demo server socket: {e}"),
        }
    }
}

impl std::error::Error for DemoServerError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(raw: &[u8]) -> Option<DemoRequest> {
        read_request(&mut BufReader::new(raw))
    }

    #[test]
    fn reads_a_request_and_its_headers() {
        let r =
            read(b"GET /hello?x=1 HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer k\r\n\r\n").unwrap();
        assert_eq!(r.target, "/hello?x=1");
        assert_eq!(r.header("authorization"), Some("Bearer k"));
    }

    #[test]
    fn refuses_what_it_does_not_bound() {
        let long = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(MAX_LINE as usize));
        assert!(read(long.as_bytes()).is_none(), "a line over the limit");
        let many = format!(
            "GET / HTTP/1.1\r\n{}\r\n",
            "x: y\r\n".repeat(MAX_HEADERS + 1)
        );
        assert!(read(many.as_bytes()).is_none(), "too many headers");
        let big = format!(
            "POST / HTTP/1.1\r\ncontent-length: {}\r\n\r\n",
            MAX_BODY + 1
        );
        assert!(read(big.as_bytes()).is_none(), "a body over the limit");
        assert!(read(b"GET / HTTP/1.1\r\nno colon\r\n\r\n").is_none());
        assert!(read(b"GET / HTTP/1.1\r\nx: y").is_none(), "cut short");
    }
}
