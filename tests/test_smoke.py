def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    # Issue 12 §6: /healthz also says when the newest notification arrived (none yet: null).
    assert response.get_json() == {"status": "ok", "last_notification_at": None}


def test_security_headers(client):
    response = client.get("/healthz")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]
