//! The network probes of `aoai doctor`: resolve the host (tokio's resolver, as the client
//! uses), open a TCP connection (direct, or to the proxy and through it with `CONNECT`), and
//! shake hands over TLS with the same rustls, crypto provider and platform verifier as
//! reqwest, keeping the server's certificate to read it even when it is not trusted.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::domain::doctor::{CertFacts, TcpFailure};

/// Every address `host` resolves to (in the resolver's order, each once).
pub async fn resolve(host: &str, port: u16, limit: Duration) -> Result<Vec<IpAddr>, String> {
    match tokio::time::timeout(limit, tokio::net::lookup_host((host, port))).await {
        Err(_) => Err(format!("no answer in {} s", limit.as_secs())),
        Ok(Err(e)) => Err(e.to_string()),
        Ok(Ok(addrs)) => {
            let mut out: Vec<IpAddr> = Vec::new();
            for a in addrs {
                if !out.contains(&a.ip()) {
                    out.push(a.ip());
                }
            }
            Ok(out)
        }
    }
}

/// Connects to the first of `addrs` that answers; the stream, the address and the time taken.
pub async fn connect(
    addrs: &[IpAddr],
    port: u16,
    limit: Duration,
) -> Result<(TcpStream, String, f64), TcpFailure> {
    let mut last = TcpFailure::Other("no address".into());
    for ip in addrs {
        let sa = SocketAddr::new(*ip, port);
        let t0 = Instant::now();
        match tokio::time::timeout(limit, TcpStream::connect(sa)).await {
            Ok(Ok(s)) => {
                let ms = t0.elapsed().as_secs_f64() * 1000.0;
                return Ok((s, sa.to_string(), ms));
            }
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                last = TcpFailure::Refused;
            }
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::TimedOut => {
                last = TcpFailure::TimedOut {
                    secs: limit.as_secs_f64(),
                };
            }
            Ok(Err(e)) => {
                if last != TcpFailure::Refused {
                    last = TcpFailure::Other(e.to_string());
                }
            }
            Err(_) => {
                if last != TcpFailure::Refused {
                    last = TcpFailure::TimedOut {
                        secs: limit.as_secs_f64(),
                    };
                }
            }
        }
    }
    Err(last)
}

/// Asks an HTTP proxy for a tunnel to `host:port` (`CONNECT`); `auth` is the
/// `Proxy-Authorization` value when the proxy URL carries credentials.
pub async fn tunnel(
    stream: &mut TcpStream,
    host: &str,
    port: u16,
    auth: Option<&str>,
    limit: Duration,
) -> Result<(), String> {
    let target = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut req = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some(a) = auth {
        req.push_str(&format!("Proxy-Authorization: {a}\r\n"));
    }
    req.push_str("\r\n");
    let exchange = async {
        stream
            .write_all(req.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
            let n = stream.read(&mut byte).await.map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("the proxy closed the connection".to_string());
            }
            head.push(byte[0]);
        }
        let text = String::from_utf8_lossy(&head);
        let status = text.lines().next().unwrap_or("").to_string();
        match status.split_whitespace().nth(1) {
            Some(code) if code.starts_with('2') => Ok(()),
            _ => Err(format!("the proxy refused the tunnel: {status}")),
        }
    };
    tokio::time::timeout(limit, exchange)
        .await
        .unwrap_or_else(|_| Err(format!("the proxy did not answer in {} s", limit.as_secs())))
}

/// The end-entity certificate (DER) and the platform verifier's verdict on it.
type Seen = Option<(Vec<u8>, Result<(), String>)>;

/// Wraps the platform verifier: records its verdict and the end-entity certificate, and lets
/// the handshake finish either way (nothing is sent over this connection), so an untrusted
/// certificate can still be shown.
#[derive(Debug)]
struct Recording {
    inner: Arc<dyn ServerCertVerifier>,
    seen: Mutex<Seen>,
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .map(|_| ())
            .map_err(|e| e.to_string());
        if let Ok(mut s) = self.seen.lock() {
            *s = Some((end_entity.to_vec(), verdict));
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A TLS handshake with `host` (SNI and name check) over `stream`.
pub async fn handshake(
    stream: TcpStream,
    host: &str,
    limit: Duration,
) -> Result<CertFacts, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let platform = rustls_platform_verifier::Verifier::new(provider.clone())
        .map_err(|e| format!("no certificate verifier: {e}"))?;
    let recording = Arc::new(Recording {
        inner: Arc::new(platform),
        seen: Mutex::new(None),
    });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(recording.clone())
        .with_no_client_auth();
    let name = ServerName::try_from(host.to_string()).map_err(|e| e.to_string())?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let result = tokio::time::timeout(limit, connector.connect(name, stream)).await;
    let protocol = match result {
        Err(_) => return Err(format!("no handshake in {} s", limit.as_secs())),
        Ok(Err(e)) => return Err(e.to_string()),
        Ok(Ok(mut tls)) => {
            let p = tls
                .get_ref()
                .1
                .protocol_version()
                .map_or_else(|| "TLS".to_string(), |v| format!("{v:?}"));
            let _ = tls.shutdown().await;
            p
        }
    };
    let seen = recording.seen.lock().ok().and_then(|mut s| s.take());
    let Some((der, verified)) = seen else {
        return Err("the server sent no certificate".into());
    };
    let (_, cert) = x509_parser::parse_x509_certificate(&der)
        .map_err(|e| format!("the certificate could not be read: {e}"))?;
    Ok(CertFacts {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        not_after: cert.validity().not_after.timestamp(),
        protocol,
        verified,
    })
}
