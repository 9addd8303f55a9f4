/**
 * `[http.tls]`: a certificate and key (PEM) turn HTTPS on; `client_ca` also requires client
 * certificates signed by that CA (mutual TLS). Files are read at start so that a missing or
 * unreadable one stops start-up with a message naming the key and the path.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import type { ResolvedConfig } from "../config/resolve.ts";

type TlsConfig = ResolvedConfig["http"]["tls"];

export interface TlsOptions {
  cert: string;
  key: string;
  ca?: string;
  requestCert?: boolean;
  rejectUnauthorized?: boolean;
}

/** Bun.serve's `tls` option, or null when TLS is off (the paths are absolute). @throws Error naming the bad key */
export function loadTls(tls: TlsConfig): TlsOptions | null {
  if (tls.certificate === "" && tls.key === "") {
    if (tls.clientCa !== "") throw new Error("http.tls.client_ca needs http.tls.certificate and http.tls.key");
    return null;
  }
  if (tls.certificate === "") throw new Error("http.tls.key is set but http.tls.certificate is not; both are needed for HTTPS");
  if (tls.key === "") throw new Error("http.tls.certificate is set but http.tls.key is not; both are needed for HTTPS");
  const options: TlsOptions = {
    cert: readPem("http.tls.certificate", tls.certificate, /-----BEGIN CERTIFICATE-----/),
    key: readPem("http.tls.key", tls.key, /-----BEGIN [A-Z ]*PRIVATE KEY-----/),
  };
  checkPair(options.cert, options.key, tls);
  if (tls.clientCa !== "") {
    options.ca = readPem("http.tls.client_ca", tls.clientCa, /-----BEGIN CERTIFICATE-----/);
    options.requestCert = true;
    options.rejectUnauthorized = true;
  }
  return options;
}

function readPem(key: string, path: string, marker: RegExp): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new Error(`Cannot read ${key} file ${path}: ${code === "ENOENT" ? "no such file" : code}`);
  }
  if (!marker.test(text)) throw new Error(`${key} file ${path} is not PEM (expected ${marker.source.replaceAll("\\", "")})`);
  return text;
}

/** The certificate parses, the key parses, and they belong together. */
function checkPair(cert: string, key: string, tls: TlsConfig): void {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch (error) {
    throw new Error(`http.tls.certificate file ${tls.certificate} cannot be parsed: ${(error as Error).message}`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    throw new Error(`http.tls.key file ${tls.key} cannot be parsed (an encrypted key is not supported): ${(error as Error).message}`);
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new Error(`http.tls.key file ${tls.key} is not the key of the certificate in ${tls.certificate}`);
  }
}
