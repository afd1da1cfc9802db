// Test targets for java.yaml (semgrep --test). Deliberately insecure code; never compiled.
import java.io.InputStream;
import java.io.ObjectInputStream;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import javax.crypto.Cipher;
import javax.net.ssl.HostnameVerifier;
import javax.net.ssl.SSLSession;
import javax.net.ssl.X509TrustManager;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;

public class Rules {
    void commands(String userArg) throws Exception {
        // ruleid: pg.java.runtime-exec
        Runtime.getRuntime().exec("ls " + userArg);
        Runtime rt = Runtime.getRuntime();
        // ruleid: pg.java.runtime-exec
        rt.exec(userArg);
        // ruleid: pg.java.runtime-exec
        new ProcessBuilder("sh", "-c", "tar xf " + userArg).start();
        // ok: pg.java.runtime-exec
        Runtime.getRuntime().exec("uptime");
        // ok: pg.java.runtime-exec
        new ProcessBuilder("tar", "xf", userArg).start();
    }

    void queries(Connection conn, String name) throws Exception {
        Statement stmt = conn.createStatement();
        // ruleid: pg.java.sql-statement-concat
        ResultSet rs = stmt.executeQuery("SELECT * FROM users WHERE name = '" + name + "'");
        // ruleid: pg.java.sql-statement-concat
        stmt.executeUpdate(String.format("DELETE FROM users WHERE name = '%s'", name));
        String query = "UPDATE users SET active = 0 WHERE name = '" + name + "'";
        // ruleid: pg.java.sql-statement-concat
        stmt.execute(query);
        // ruleid: pg.java.sql-statement-concat
        PreparedStatement bad = conn.prepareStatement("SELECT * FROM users WHERE name = '" + name + "'");
        // ok: pg.java.sql-statement-concat
        PreparedStatement ps = conn.prepareStatement("SELECT * FROM users WHERE name = ?");
        ps.setString(1, name);
        // ok: pg.java.sql-statement-concat
        stmt.executeQuery("SELECT count(*) FROM users");
    }

    Object deserialize(InputStream in) throws Exception {
        ObjectInputStream ois = new ObjectInputStream(in);
        // ruleid: pg.java.object-input-stream
        Object first = ois.readObject();
        // ruleid: pg.java.object-input-stream
        Object second = new ObjectInputStream(in).readObject();
        return first;
    }

    Object deserializeFiltered(InputStream in) throws Exception {
        ObjectInputStream ois = new ObjectInputStream(in);
        ois.setObjectInputFilter(java.io.ObjectInputFilter.Config.createFilter("com.example.*;!*"));
        // ok: pg.java.object-input-stream
        return ois.readObject();
    }

    void crypto(byte[] data) throws Exception {
        // ruleid: pg.java.weak-hash
        MessageDigest md5 = MessageDigest.getInstance("MD5");
        // ruleid: pg.java.weak-hash
        MessageDigest sha1 = MessageDigest.getInstance("SHA-1");
        // ok: pg.java.weak-hash
        MessageDigest sha256 = MessageDigest.getInstance("SHA-256");

        // ruleid: pg.java.weak-cipher-mode
        Cipher ecbDefault = Cipher.getInstance("AES");
        // ruleid: pg.java.weak-cipher-mode
        Cipher ecb = Cipher.getInstance("AES/ECB/PKCS5Padding");
        // ruleid: pg.java.weak-cipher-mode
        Cipher des = Cipher.getInstance("DES/CBC/PKCS5Padding");
        // ok: pg.java.weak-cipher-mode
        Cipher gcm = Cipher.getInstance("AES/GCM/NoPadding");
    }

    static class TrustEverything implements X509TrustManager {
        public void checkClientTrusted(X509Certificate[] chain, String authType) {}

        // ruleid: pg.java.trust-all-certificates
        public void checkServerTrusted(X509Certificate[] chain, String authType) {}

        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }

    static class StrictTrust implements X509TrustManager {
        public void checkClientTrusted(X509Certificate[] chain, String authType) {}

        // ok: pg.java.trust-all-certificates
        public void checkServerTrusted(X509Certificate[] chain, String authType) {
            delegate.checkServerTrusted(chain, authType);
        }

        public X509Certificate[] getAcceptedIssuers() {
            return delegate.getAcceptedIssuers();
        }
    }

    // ruleid: pg.java.trust-all-certificates
    HostnameVerifier anyHost = (hostname, session) -> true;

    void connect(javax.net.ssl.HttpsURLConnection conn) {
        // ruleid: pg.java.trust-all-certificates
        conn.setHostnameVerifier((h, s) -> true);
        // ok: pg.java.trust-all-certificates
        java.util.function.BiPredicate<String, String> any = (a, b) -> true;
    }

    void parseXml(InputStream in) throws Exception {
        DocumentBuilderFactory dbf = DocumentBuilderFactory.newInstance();
        // ruleid: pg.java.xxe-document-builder
        DocumentBuilder db = dbf.newDocumentBuilder();
        db.parse(in);
    }

    void parseXmlSafely(InputStream in) throws Exception {
        DocumentBuilderFactory dbf = DocumentBuilderFactory.newInstance();
        dbf.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        // ok: pg.java.xxe-document-builder
        DocumentBuilder db = dbf.newDocumentBuilder();
        db.parse(in);
    }
}
