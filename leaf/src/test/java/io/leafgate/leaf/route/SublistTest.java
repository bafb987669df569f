package io.leafgate.leaf.route;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leafgate.leaf.subject.Subjects;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class SublistTest {
  private static final Subscriber NOBODY = (sub, msg, batch) -> {};
  private static final String[] TOKENS = {"a", "b", "c", "foo", "bar"};

  private static Subscription sub(String subject) {
    return new Subscription(NOBODY, subject, null, subject);
  }

  /** The matcher the trie must agree with: every filter tested one by one. */
  private static boolean naiveMatch(String filter, String subject) {
    String[] f = filter.split("\\.", -1);
    String[] s = subject.split("\\.", -1);
    for (int i = 0; i < f.length; i++) {
      if (f[i].equals(">")) {
        return s.length > i;
      }
      if (i >= s.length) {
        return false;
      }
      if (!f[i].equals("*") && !f[i].equals(s[i])) {
        return false;
      }
    }
    return f.length == s.length;
  }

  private static String randomSubject(Random r, boolean filter) {
    int n = 1 + r.nextInt(4);
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < n; i++) {
      if (i > 0) {
        b.append('.');
      }
      int pick = r.nextInt(filter ? 8 : 5);
      if (filter && pick == 5 || filter && pick == 6) {
        b.append('*');
      } else if (filter && pick == 7) {
        b.append('>');
        break;
      } else {
        b.append(TOKENS[r.nextInt(TOKENS.length)]);
      }
    }
    return b.toString();
  }

  private static Set<Subscription> all(SublistResult r) {
    Set<Subscription> s = new HashSet<>(Arrays.asList(r.psubs));
    for (Subscription[] q : r.qsubs) {
      s.addAll(Arrays.asList(q));
    }
    return s;
  }

  @Test
  void agreesWithTheNaiveMatcherOnRandomFiltersAndSubjects() {
    Random r = new Random(7);
    for (int round = 0; round < 50; round++) {
      Sublist sl = new Sublist();
      List<Subscription> subs = new ArrayList<>();
      for (int i = 0; i < 60; i++) {
        Subscription s = sub(randomSubject(r, true));
        subs.add(s);
        sl.insert(s);
      }
      // Remove a few, so removal and cache invalidation are exercised too.
      for (int i = 0; i < 15; i++) {
        Subscription s = subs.remove(r.nextInt(subs.size()));
        assertTrue(sl.remove(s));
      }
      for (int i = 0; i < 200; i++) {
        String subject = randomSubject(r, false);
        Set<Subscription> expected = subs.stream().filter(s -> naiveMatch(s.subject, subject)).collect(Collectors.toSet());
        assertEquals(expected, all(sl.match(subject)), "subject " + subject);
        assertEquals(expected, all(sl.match(subject)), "cached, subject " + subject);
        for (Subscription s : subs) {
          assertEquals(naiveMatch(s.subject, subject), Subjects.matches(s.subject, subject), s.subject + " vs " + subject);
        }
      }
      // Adding after matches must invalidate the cache.
      Subscription late = sub(randomSubject(r, true));
      sl.insert(late);
      subs.add(late);
      for (int i = 0; i < 100; i++) {
        String subject = randomSubject(r, false);
        Set<Subscription> expected = subs.stream().filter(s -> naiveMatch(s.subject, subject)).collect(Collectors.toSet());
        assertEquals(expected, all(sl.match(subject)), "after insert, subject " + subject);
      }
      assertEquals(subs.size(), sl.count());
    }
  }

  @Test
  void groupsQueueMembersByName() {
    Sublist sl = new Sublist();
    Subscription a = new Subscription(NOBODY, "foo.*", "q", "1");
    Subscription b = new Subscription(NOBODY, "foo.bar", "q", "2");
    Subscription c = new Subscription(NOBODY, "foo.>", "other", "3");
    Subscription d = sub("foo.bar");
    sl.insert(a);
    sl.insert(b);
    sl.insert(c);
    sl.insert(d);
    SublistResult r = sl.match("foo.bar");
    assertEquals(1, r.psubs.length);
    assertEquals(2, r.qsubs.length);
    Set<Integer> sizes = Arrays.stream(r.qsubs).map(g -> g.length).collect(Collectors.toSet());
    assertEquals(Set.of(1, 2), sizes);
  }

  @Test
  void removingEverythingLeavesAnEmptyTrieAndBumpsTheGeneration() {
    Sublist sl = new Sublist();
    Subscription a = sub("a.b.c");
    Subscription b = sub("a.*.c");
    sl.insert(a);
    sl.insert(b);
    long gen = sl.genId();
    assertEquals(2, sl.match("a.b.c").psubs.length);
    sl.removeAll(List.of(a, b));
    assertTrue(sl.genId() > gen);
    assertTrue(sl.match("a.b.c").isEmpty());
    assertFalse(sl.remove(a));
    assertEquals(0, sl.count());
    assertTrue(sl.all().isEmpty());
  }

  @Test
  void cacheStaysBounded() {
    Sublist sl = new Sublist();
    sl.insert(sub(">"));
    for (int i = 0; i < 5000; i++) {
      assertEquals(1, sl.match("s" + i).psubs.length);
    }
    assertTrue(sl.stats().numCache() <= Sublist.CACHE_MAX, "cache " + sl.stats().numCache());
  }
}
