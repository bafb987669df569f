package io.leafgate.leaf.subject;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class SubjectsTest {
  @Test
  void filtersFollowNatsServerRules() {
    for (String ok : new String[] {"foo", "foo.bar", "foo.*", "*", ">", "foo.>", "foo.*.bar", "a*", "foo.b>r", "$JS.API.>"}) {
      assertTrue(Subjects.isValidFilter(ok), ok);
    }
    for (String bad : new String[] {"", ".", "foo.", ".foo", "foo..bar", "foo.>.bar", "foo bar", "foo\tbar", ">.a"}) {
      assertFalse(Subjects.isValidFilter(bad), bad);
    }
  }

  @Test
  void literalsHaveNoWildcardTokens() {
    assertTrue(Subjects.isValidLiteral("foo.bar"));
    assertTrue(Subjects.isValidLiteral("foo.a*"));
    assertFalse(Subjects.isValidLiteral("foo.*"));
    assertFalse(Subjects.isValidLiteral("foo.>"));
    assertFalse(Subjects.isValidLiteral("foo..x"));
  }

  @Test
  void matching() {
    assertTrue(Subjects.matches("foo.*", "foo.bar"));
    assertFalse(Subjects.matches("foo.*", "foo.bar.baz"));
    assertTrue(Subjects.matches("foo.>", "foo.bar.baz"));
    assertFalse(Subjects.matches("foo.>", "foo"));
    assertTrue(Subjects.matches(">", "x"));
    assertFalse(Subjects.matches("foo", "foo.bar"));
    assertFalse(Subjects.matches("foo.bar", "foo"));
    assertTrue(Subjects.matches("*.*", "a.b"));
  }

  @Test
  void collisionsAndSubsets() {
    assertTrue(Subjects.collide("foo.*", "foo.bar"));
    assertTrue(Subjects.collide("foo.>", "*.bar.baz"));
    assertFalse(Subjects.collide("foo.bar", "foo.baz"));
    assertFalse(Subjects.collide("foo.*", "foo.bar.baz"));
    assertTrue(Subjects.isSubset("foo.bar", "foo.*"));
    assertTrue(Subjects.isSubset("foo.*.x", "foo.>"));
    assertFalse(Subjects.isSubset("foo.>", "foo.*"));
    assertFalse(Subjects.isSubset("foo.*", "foo.bar"));
  }
}
