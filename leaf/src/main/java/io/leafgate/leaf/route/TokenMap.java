package io.leafgate.leaf.route;

import java.util.ArrayList;
import java.util.List;

/**
 * The literal children of a {@link Sublist} level: a map from subject token to value that can be
 * asked with a region of a subject ({@link #get(String, int, int)}), so that matching a subject
 * allocates no token strings. Open addressing with linear probing; the hash is
 * {@link String#hashCode()}'s, computed over the region. Not thread-safe (the sublist's lock
 * guards it).
 */
final class TokenMap<V> {
  private String[] keys = new String[8];
  private Object[] values = new Object[8];
  private int size;

  int size() {
    return size;
  }

  boolean isEmpty() {
    return size == 0;
  }

  /** The value of the token {@code s[start, end)}, or null. */
  @SuppressWarnings("unchecked")
  V get(String s, int start, int end) {
    int h = 0;
    for (int i = start; i < end; i++) {
      h = 31 * h + s.charAt(i);
    }
    int len = end - start;
    int mask = keys.length - 1;
    for (int i = spread(h) & mask; ; i = (i + 1) & mask) {
      String k = keys[i];
      if (k == null) {
        return null;
      }
      if (k.length() == len && k.regionMatches(0, s, start, len)) {
        return (V) values[i];
      }
    }
  }

  V get(String token) {
    return get(token, 0, token.length());
  }

  /** Sets the value of {@code token}; returns the previous one, or null. */
  @SuppressWarnings("unchecked")
  V put(String token, V value) {
    if ((size + 1) * 2 > keys.length) {
      grow();
    }
    int mask = keys.length - 1;
    for (int i = spread(token.hashCode()) & mask; ; i = (i + 1) & mask) {
      String k = keys[i];
      if (k == null) {
        keys[i] = token;
        values[i] = value;
        size++;
        return null;
      }
      if (k.equals(token)) {
        V old = (V) values[i];
        values[i] = value;
        return old;
      }
    }
  }

  /** Removes {@code token}; returns its value, or null. */
  @SuppressWarnings("unchecked")
  V remove(String token) {
    int mask = keys.length - 1;
    int i = spread(token.hashCode()) & mask;
    while (true) {
      String k = keys[i];
      if (k == null) {
        return null;
      }
      if (k.equals(token)) {
        break;
      }
      i = (i + 1) & mask;
    }
    V old = (V) values[i];
    // Backward-shift deletion: move later entries of the run into the hole where their probe allows.
    int hole = i;
    for (int j = (hole + 1) & mask; keys[j] != null; j = (j + 1) & mask) {
      int home = spread(keys[j].hashCode()) & mask;
      // j may move to the hole if its home is not in the cyclic interval (hole, j].
      boolean stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
      if (!stays) {
        keys[hole] = keys[j];
        values[hole] = values[j];
        hole = j;
      }
    }
    keys[hole] = null;
    values[hole] = null;
    size--;
    return old;
  }

  /** The values, in no particular order (a copy). */
  @SuppressWarnings("unchecked")
  List<V> values() {
    List<V> out = new ArrayList<>(size);
    for (int i = 0; i < keys.length; i++) {
      if (keys[i] != null) {
        out.add((V) values[i]);
      }
    }
    return out;
  }

  private void grow() {
    String[] oldKeys = keys;
    Object[] oldValues = values;
    keys = new String[oldKeys.length * 2];
    values = new Object[oldKeys.length * 2];
    size = 0;
    for (int i = 0; i < oldKeys.length; i++) {
      if (oldKeys[i] != null) {
        @SuppressWarnings("unchecked")
        V v = (V) oldValues[i];
        put(oldKeys[i], v);
      }
    }
  }

  private static int spread(int h) {
    return h ^ (h >>> 16);
  }
}
