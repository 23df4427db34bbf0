#!/usr/bin/env python3
"""Signs one request with Python's oauthlib (RSA-SHA1), an implementation independent of cfl-auth.

Usage: oauthlib_sign.py METHOD URL CONSUMER_KEY KEY_PEM_FILE [--two-legged] [--callback URL]
                        [--form-body BODY]
Prints JSON {"url", "authorization", "body"}; the Rust test sends it to `cfl sim`.
Needs: pip install oauthlib cryptography pyjwt
"""
import argparse
import json

from oauthlib.oauth1 import SIGNATURE_RSA, Client


class TwoLeggedClient(Client):
    """Atlassian 2LO sends oauth_token present but empty; stock oauthlib omits an empty token."""

    def get_oauth_params(self, request):
        params = super().get_oauth_params(request)
        params.append(("oauth_token", ""))
        return params


def main():
    p = argparse.ArgumentParser()
    p.add_argument("method")
    p.add_argument("url")
    p.add_argument("consumer_key")
    p.add_argument("key_file")
    p.add_argument("--two-legged", action="store_true")
    p.add_argument("--callback")
    p.add_argument("--form-body")
    a = p.parse_args()
    with open(a.key_file) as f:
        pem = f.read()
    cls = TwoLeggedClient if a.two_legged else Client
    client = cls(a.consumer_key, signature_method=SIGNATURE_RSA, rsa_key=pem, callback_uri=a.callback)
    headers = {}
    if a.form_body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    url, headers, body = client.sign(a.url, http_method=a.method, body=a.form_body, headers=headers)
    print(json.dumps({"url": url, "authorization": headers["Authorization"], "body": body}))


if __name__ == "__main__":
    main()
