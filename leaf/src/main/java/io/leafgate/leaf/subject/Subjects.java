package io.leafgate.leaf.subject;

import java.util.ArrayList;
import java.util.List;

/**
 * Subject and filter rules as nats-server applies them. Subjects are dot-separated tokens; in a
 * filter, a token that is exactly {@code *} matches any one token and a final {@code >} matches one
 * or more tokens. A token such as {@code a*} is a literal.
 *
 * <p>Subjects travel through leafgate as Latin-1 strings: every wire byte is one char, so bytes
 * survive the round trip unchanged whatever encoding a client used.
 */
public final class Subjects {
  private Subjects() {}

  /** Whether {@code s} is a valid subscription filter (nats-server {@code IsValidSubject}). */
  public static boolean isValidFilter(String s) {
    int n = s.length();
    if (n == 0) {
      return false;
    }
    int start = 0;
    boolean sawFwc = false;
    for (int i = 0; i <= n; i++) {
      if (i == n || s.charAt(i) == '.') {
        int len = i - start;
        if (len == 0 || sawFwc) {
          return false;
        }
        if (len == 1 && s.charAt(start) == '>') {
          sawFwc = true;
        }
        start = i + 1;
      } else if (isWhitespace(s.charAt(i))) {
        return false;
      }
    }
    return true;
  }

  /**
   * Whether {@code s} is a valid literal subject: no empty tokens and no wildcard tokens
   * (nats-server {@code IsValidLiteralSubject}, which pedantic clients are held to).
   */
  public static boolean isValidLiteral(String s) {
    int n = s.length();
    if (n == 0) {
      return false;
    }
    int start = 0;
    for (int i = 0; i <= n; i++) {
      if (i == n || s.charAt(i) == '.') {
        int len = i - start;
        if (len == 0) {
          return false;
        }
        if (len == 1) {
          char c = s.charAt(start);
          if (c == '*' || c == '>') {
            return false;
          }
        }
        start = i + 1;
      }
    }
    return true;
  }

  /** Whether a publish subject is routable at all: non-empty, no empty tokens, no whitespace. */
  public static boolean isValidPublish(String s) {
    int n = s.length();
    if (n == 0) {
      return false;
    }
    int start = 0;
    for (int i = 0; i <= n; i++) {
      if (i == n || s.charAt(i) == '.') {
        if (i == start) {
          return false;
        }
        start = i + 1;
      } else if (isWhitespace(s.charAt(i))) {
        return false;
      }
    }
    return true;
  }

  /** Whether the filter contains a wildcard token. */
  public static boolean hasWildcard(String filter) {
    int n = filter.length();
    for (int i = 0; i < n; i++) {
      char c = filter.charAt(i);
      if ((c == '*' || c == '>')
          && (i == 0 || filter.charAt(i - 1) == '.')
          && (i + 1 == n || filter.charAt(i + 1) == '.')) {
        return true;
      }
    }
    return false;
  }

  /** Whether the literal subject matches the filter. Both must be valid. */
  public static boolean matches(String filter, String subject) {
    int fi = 0;
    int si = 0;
    int fn = filter.length();
    int sn = subject.length();
    while (true) {
      int fe = filter.indexOf('.', fi);
      if (fe < 0) {
        fe = fn;
      }
      if (si > sn) {
        return false; // the subject ran out of tokens
      }
      int se = subject.indexOf('.', si);
      if (se < 0) {
        se = sn;
      }
      int flen = fe - fi;
      if (flen == 1 && filter.charAt(fi) == '>') {
        return si <= sn && fe == fn; // '>' needs at least one more token
      }
      boolean pwc = flen == 1 && filter.charAt(fi) == '*';
      if (!pwc && (flen != se - si || !filter.regionMatches(fi, subject, si, flen))) {
        return false;
      }
      boolean fEnd = fe == fn;
      boolean sEnd = se == sn;
      if (fEnd || sEnd) {
        return fEnd && sEnd;
      }
      fi = fe + 1;
      si = se + 1;
    }
  }

  /**
   * Whether two filters can both match some subject (nats-server {@code SubjectsCollide}); used to
   * refuse overlapping stream subjects.
   */
  public static boolean collide(String a, String b) {
    List<String> ta = tokens(a);
    List<String> tb = tokens(b);
    int n = Math.min(ta.size(), tb.size());
    for (int i = 0; i < n; i++) {
      String x = ta.get(i);
      String y = tb.get(i);
      if (x.equals(">") || y.equals(">")) {
        return true;
      }
      if (!x.equals("*") && !y.equals("*") && !x.equals(y)) {
        return false;
      }
    }
    if (ta.size() == tb.size()) {
      return true;
    }
    // The longer one can only match if the shorter ends in '>' (handled above).
    return false;
  }

  /**
   * Whether every subject matched by {@code inner} is also matched by {@code outer}
   * (nats-server {@code subjectIsSubsetMatch}).
   */
  public static boolean isSubset(String inner, String outer) {
    List<String> ti = tokens(inner);
    List<String> to = tokens(outer);
    for (int i = 0; i < to.size(); i++) {
      String o = to.get(i);
      if (o.equals(">")) {
        return i < ti.size();
      }
      if (i >= ti.size()) {
        return false;
      }
      String t = ti.get(i);
      if (t.equals(">")) {
        return false;
      }
      if (o.equals("*")) {
        continue;
      }
      if (t.equals("*") || !t.equals(o)) {
        return false;
      }
    }
    return ti.size() == to.size();
  }

  /** Splits a subject into its tokens. */
  public static List<String> tokens(String s) {
    List<String> out = new ArrayList<>(8);
    int start = 0;
    for (int i = 0; i <= s.length(); i++) {
      if (i == s.length() || s.charAt(i) == '.') {
        out.add(s.substring(start, i));
        start = i + 1;
      }
    }
    return out;
  }

  /** Number of tokens in a subject. */
  public static int tokenCount(String s) {
    int n = 1;
    for (int i = 0; i < s.length(); i++) {
      if (s.charAt(i) == '.') {
        n++;
      }
    }
    return n;
  }

  private static boolean isWhitespace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
  }
}
