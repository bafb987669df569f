package io.leafgate.leaf.route;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class TokenMapTest {
  /** Random puts, removes and lookups (whole tokens and regions of subjects) agree with a HashMap. */
  @Test
  void behavesAsAHashMapOfTokens() {
    Random rnd = new Random(3);
    for (int round = 0; round < 50; round++) {
      TokenMap<Integer> map = new TokenMap<>();
      Map<String, Integer> want = new HashMap<>();
      int universe = 1 + rnd.nextInt(300);
      for (int op = 0; op < 3000; op++) {
        // Short tokens collide often (Aa/BB have the same hash), long ones exercise growth.
        String token = rnd.nextBoolean() ? (rnd.nextBoolean() ? "Aa" : "BB") + rnd.nextInt(universe)
            : "t" + rnd.nextInt(universe);
        switch (rnd.nextInt(4)) {
          case 0, 1 -> assertEquals(want.put(token, op), map.put(token, op), "put " + token);
          case 2 -> assertEquals(want.remove(token), map.remove(token), "remove " + token);
          default -> {
            String subject = "x." + token + ".y";
            assertEquals(want.get(token), map.get(subject, 2, 2 + token.length()), "get region " + token);
            assertEquals(want.get(token), map.get(token), "get " + token);
          }
        }
        assertEquals(want.size(), map.size());
      }
      List<Integer> values = new ArrayList<>(map.values());
      List<Integer> expected = new ArrayList<>(want.values());
      values.sort(null);
      expected.sort(null);
      assertEquals(expected, values);
      for (String k : new ArrayList<>(want.keySet())) {
        assertEquals(want.remove(k), map.remove(k));
      }
      assertEquals(0, map.size());
      assertNull(map.get("t1"));
    }
  }

  @Test
  void aRegionIsComparedByItsCharactersNotItsHashAlone() {
    TokenMap<String> map = new TokenMap<>();
    map.put("Aa", "first");
    map.put("BB", "second"); // same String hash as "Aa"
    assertEquals("first", map.get("x.Aa", 2, 4));
    assertEquals("second", map.get("BB.x", 0, 2));
    assertNull(map.get("x.Ab", 2, 4));
    assertNull(map.get("x.A", 2, 3));
    assertEquals("second", map.remove("BB"));
    assertEquals("first", map.get("Aa"));
    assertNull(map.get("BB"));
  }
}
