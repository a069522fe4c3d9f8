# SPDX-License-Identifier: Apache-2.0
"""An S3 endpoint that lies about its listings, on 127.0.0.1: its ListObjectsV2 says
IsTruncated=true for ever. Used by the snapshot and oplog stores' hostile tests."""
import http.server
import threading


class EndlessListing:
    """An S3 endpoint whose ListObjectsV2 says IsTruncated=true for ever: each page has one new
    common prefix and a new continuation token (same_token: always the same token)."""

    def __init__(self, same_token):
        outer = self
        self.pages = 0

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                outer.pages += 1
                tok = "same" if same_token else "t%d" % outer.pages
                body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult>"
                        "<Name>b</Name><Prefix>snapshots/</Prefix><IsTruncated>true</IsTruncated>"
                        "<CommonPrefixes><Prefix>snapshots/x%d/</Prefix></CommonPrefixes>"
                        "<NextContinuationToken>%s</NextContinuationToken></ListBucketResult>"
                        % (outer.pages, tok)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
