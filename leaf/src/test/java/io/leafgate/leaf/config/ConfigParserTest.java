package io.leafgate.leaf.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leafgate.leaf.config.ConfigValue.Kind;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigParserTest {
  private static final Path FILE = Path.of("test.conf");

  /** An environment with a few fixed variables, so tests do not depend on the machine's. */
  private static final Map<String, String> ENV = Map.of(
      "LG_PORT", "4333",
      "LG_NAME", "edge-7",
      "LG_SPACED", "two words",
      "LG_LIST", "[a, b]",
      "LG_SIZE", "2MB",
      "LG_LOOP_A", "$LG_LOOP_B",
      "LG_LOOP_B", "$LG_LOOP_A",
      "LG_MISSING_REF", "$LG_NOT_SET");

  private static ConfigParser.Result parse(String text) {
    return new ConfigParser(ENV::get).parse(text, FILE);
  }

  /** Parses text that must be free of errors and returns its top-level map. */
  private static ConfigValue ok(String text) {
    ConfigParser.Result r = parse(text);
    assertEquals(List.of(), r.errors(), "unexpected errors");
    return r.root();
  }

  private static List<String> errors(String text) {
    return parse(text).errors().stream().map(ConfigError::toString).collect(Collectors.toList());
  }

  // ---- key/value separators ----------------------------------------------------------------

  @Test
  void acceptsEqualsColonAndSpaceSeparators() {
    ConfigValue root = ok("a = 1\nb: 2\nc 3\nd=4\ne:5\nf\t6\n");
    assertEquals(List.of("a", "b", "c", "d", "e", "f"), List.copyOf(root.asMap().keySet()));
    for (int i = 0; i < 6; i++) {
      ConfigValue v = root.get(String.valueOf((char) ('a' + i)));
      assertEquals(i + 1, v.asLong());
      assertEquals(i + 1, v.line());
      assertEquals(FILE, v.file());
    }
  }

  @Test
  void entriesMayEndWithSemicolonOrCommaAndShareALine() {
    ConfigValue root = ok("a = 1; b = 2, c = 3;\n");
    assertEquals(1, root.get("a").asLong());
    assertEquals(2, root.get("b").asLong());
    assertEquals(3, root.get("c").asLong());
  }

  @Test
  void keysMayBeQuotedAndLookupIgnoresCase() {
    ConfigValue root = ok("\"with space\" = 1\n'single' : 2\nMixedCase = 3\n");
    assertEquals(1, root.get("with space").asLong());
    assertEquals(2, root.get("single").asLong());
    assertEquals(3, root.get("mixedcase").asLong());
    assertTrue(root.asMap().containsKey("MixedCase"), "keys keep their spelling");
  }

  @Test
  void lastDuplicateKeyWins() {
    ConfigValue root = ok("port = 1\nport = 2\n");
    assertEquals(2, root.get("port").asLong());
    assertEquals(2, root.get("port").line());
  }

  @Test
  void windowsLineEndingsTabsByteOrderMarkAndNoFinalNewline() {
    ConfigValue root = ok("\uFEFFa = 1\r\n\tb {\r\n\t\tc: \"x\"\r\n\t}\r\nd: [1,\r\n 2]\r\ne = last");
    assertEquals(1, root.get("a").asLong());
    assertEquals("x", root.get("b").get("c").asString());
    assertEquals(3, root.get("b").get("c").line());
    assertEquals(2, root.get("d").asList().size());
    assertEquals("last", root.get("e").asString());
    assertEquals(7, root.get("e").line());
  }

  @Test
  void emptyDocumentIsAnEmptyMap() {
    assertTrue(ok("").asMap().isEmpty());
    assertTrue(ok("\n  \n# only a comment").asMap().isEmpty());
    assertTrue(ok("{}").asMap().isEmpty());
  }

  // ---- maps and arrays ---------------------------------------------------------------------

  @Test
  void mapsWithAndWithoutSeparatorAndNested() {
    ConfigValue root = ok("""
        a { x = 1 }
        b = { y: 2 }
        c: {
          inner {
            z 3
          }
        }
        d
        {
          w = 4
        }
        """);
    assertEquals(1, root.get("a").get("x").asLong());
    assertEquals(2, root.get("b").get("y").asLong());
    ConfigValue z = root.get("c").get("inner").get("z");
    assertEquals(3, z.asLong());
    assertEquals(5, z.line());
    assertEquals(4, root.get("d").get("w").asLong());
    assertEquals(8, root.get("d").line(), "a map entry is reported at its key's line");
  }

  @Test
  void mapEntriesSeparatedByCommasOnOneLine() {
    ConfigValue m = ok("m { a: 1, b: 2; c: 3 }").get("m");
    assertEquals(3, m.asMap().size());
    assertEquals(3, m.get("c").asLong());
  }

  @Test
  void wholeDocumentMayBeWrappedInBraces() {
    ConfigValue root = ok("{\n  \"port\": 4222,\n  \"listen\": \"0.0.0.0:4222\"\n}\n");
    assertEquals(4222, root.get("port").asLong());
    assertEquals("0.0.0.0:4222", root.get("listen").asString());
  }

  @Test
  void arraysWithCommasNewlinesCommentsAndTrailingComma() {
    ConfigValue root = ok("""
        a = [1, 2, 3]
        b = [
          "x"   # first
          'y',  // second
          z,
        ]
        c: []
        d [ [1, 2], { k: v } ]
        """);
    assertEquals(List.of(1L, 2L, 3L),
        root.get("a").asList().stream().map(ConfigValue::asLong).collect(Collectors.toList()));
    List<ConfigValue> b = root.get("b").asList();
    assertEquals(List.of("x", "y", "z"),
        b.stream().map(ConfigValue::asString).collect(Collectors.toList()));
    assertEquals(List.of(3, 4, 5), b.stream().map(ConfigValue::line).collect(Collectors.toList()),
        "array items keep their own lines");
    assertTrue(root.get("c").asList().isEmpty());
    List<ConfigValue> d = root.get("d").asList();
    assertEquals(Kind.ARRAY, d.get(0).kind());
    assertEquals("v", d.get(1).get("k").asString());
  }

  // ---- comments ----------------------------------------------------------------------------

  @Test
  void hashAndSlashCommentsAnywhere() {
    ConfigValue root = ok("""
        # a full-line comment
        // another one
        a = 1 # trailing
        b = 2 // trailing too
        c {   # after a brace
          d = 3 // inside
        }
        url = nats://h:7422 # a // inside a value is not a comment
        """);
    assertEquals(1, root.get("a").asLong());
    assertEquals(2, root.get("b").asLong());
    assertEquals(3, root.get("c").get("d").asLong());
    assertEquals("nats://h:7422", root.get("url").asString());
    assertEquals(4, root.asMap().size());
  }

  // ---- strings -----------------------------------------------------------------------------

  @Test
  void unquotedStringsNeedNoQuotesForAddressesAndUrls() {
    ConfigValue root = ok("""
        listen: 127.0.0.1:4222
        any: 0.0.0.0:-1
        portonly: :4222
        host: localhost
        urls: [nats://h:7422, "nats-leaf://user:pw@hub.example.com:7422"]
        path: /var/lib/leafgate
        dur: 10s
        mixed: 1h30m
        """);
    assertEquals("127.0.0.1:4222", root.get("listen").asString());
    assertEquals("0.0.0.0:-1", root.get("any").asString());
    assertEquals(":4222", root.get("portonly").asString());
    assertEquals("localhost", root.get("host").asString());
    assertEquals("nats://h:7422", root.get("urls").asList().get(0).asString());
    assertEquals("nats-leaf://user:pw@hub.example.com:7422",
        root.get("urls").asList().get(1).asString());
    assertEquals("/var/lib/leafgate", root.get("path").asString());
    assertEquals("10s", root.get("dur").asString());
    assertEquals("1h30m", root.get("mixed").asString());
    assertFalse(root.get("host").quoted());
  }

  @Test
  void doubleQuotedStringsDecodeEscapes() {
    ConfigValue root = ok("s = \"tab\\there \\\"q\\\" back\\\\slash nl\\n cr\\r hex\\x41 utf\\xc3\\xa9\"\n"
        + "hash = \"# not a comment\"\n"
        + "dollar = \"$NOT_A_VARIABLE\"\n");
    assertEquals("tab\there \"q\" back\\slash nl\n cr\r hexA utf\u00e9", root.get("s").asString());
    assertTrue(root.get("s").quoted());
    assertEquals("# not a comment", root.get("hash").asString());
    assertEquals("$NOT_A_VARIABLE", root.get("dollar").asString());
  }

  @Test
  void singleQuotedStringsAreLiteral() {
    ConfigValue root = ok("s = 'C:\\data\\n $HOME \"x\"'\n");
    assertEquals("C:\\data\\n $HOME \"x\"", root.get("s").asString());
  }

  @Test
  void quotedNumbersAndBooleansStayStrings() {
    ConfigValue root = ok("a = \"4222\"\nb = 'true'\n");
    assertEquals(Kind.STRING, root.get("a").kind());
    assertEquals(Kind.STRING, root.get("b").kind());
  }

  // ---- numbers and booleans ----------------------------------------------------------------

  @Test
  void integersFloatsAndNegatives() {
    ConfigValue root = ok("a = 42\nb = -1\nc = 0.5\nd = -2.25\ne = 9223372036854775807\n");
    assertEquals(42, root.get("a").asLong());
    assertEquals(-1, root.get("b").asLong());
    assertEquals(Kind.FLOAT, root.get("c").kind());
    assertEquals(0.5, root.get("c").asDouble());
    assertEquals(-2.25, root.get("d").asDouble());
    assertEquals(Long.MAX_VALUE, root.get("e").asLong());
  }

  @Test
  void sizeSuffixesFollowNatsServer() {
    // conf/parse.go: one letter is a power of 1000, a letter plus b/i/ib a power of 1024.
    ConfigValue root = ok("""
        k1 = 1k
        k2 = 1K
        kb1 = 1kb
        kb2 = 1KB
        ki = 1Ki
        kib = 1KiB
        m1 = 2m
        mb = 2MB
        mib = 2mib
        g1 = 3G
        gb = 3gb
        t = 1T
        tb = 1TB
        neg = -1k
        """);
    assertEquals(1000, root.get("k1").asLong());
    assertEquals(1000, root.get("k2").asLong());
    assertEquals(1024, root.get("kb1").asLong());
    assertEquals(1024, root.get("kb2").asLong());
    assertEquals(1024, root.get("ki").asLong());
    assertEquals(1024, root.get("kib").asLong());
    assertEquals(2_000_000, root.get("m1").asLong());
    assertEquals(2L * 1024 * 1024, root.get("mb").asLong());
    assertEquals(2L * 1024 * 1024, root.get("mib").asLong());
    assertEquals(3_000_000_000L, root.get("g1").asLong());
    assertEquals(3L << 30, root.get("gb").asLong());
    assertEquals(1_000_000_000_000L, root.get("t").asLong());
    assertEquals(1L << 40, root.get("tb").asLong());
    assertEquals(-1000, root.get("neg").asLong());
    assertEquals("2m", root.get("m1").raw(), "the source text is kept for duration keys");
  }

  @Test
  void unknownSuffixIsAString() {
    ConfigValue root = ok("a = 500ms\nb = 10x\n");
    assertEquals(Kind.STRING, root.get("a").kind());
    assertEquals("10x", root.get("b").asString());
  }

  @Test
  void integerOverflowIsAnError() {
    assertEquals(List.of("test.conf:1: integer 9223372036854775808 is out of range",
            "test.conf:2: integer 9000000000GB is out of range"),
        errors("a = 9223372036854775808\nb = 9000000000GB\n"));
  }

  @Test
  void booleansInEveryNatsForm() {
    ConfigValue root = ok("a=true\nb=FALSE\nc=yes\nd=No\ne=on\nf=OFF\n");
    assertTrue(root.get("a").asBoolean());
    assertFalse(root.get("b").asBoolean());
    assertTrue(root.get("c").asBoolean());
    assertFalse(root.get("d").asBoolean());
    assertTrue(root.get("e").asBoolean());
    assertFalse(root.get("f").asBoolean());
    assertEquals("OFF", root.get("f").raw());
  }

  // ---- variables ---------------------------------------------------------------------------

  @Test
  void variableFromEarlierKeyInSameBlock() {
    ConfigValue root = ok("PORT = 4300\nport: $PORT\n");
    ConfigValue port = root.get("port");
    assertEquals(4300, port.asLong());
    assertEquals(2, port.line(), "a reference is reported where it is used");
    assertTrue(root.asMap().get("PORT").usedAsVariable());
    assertFalse(port.usedAsVariable());
  }

  @Test
  void variableFromEnclosingBlockAndInnerShadowsOuter() {
    ConfigValue root = ok("""
        USER = outer
        authorization {
          users = [
            { user: $USER }
          ]
          USER = inner
          other: $USER
        }
        """);
    assertEquals("outer",
        root.get("authorization").get("users").asList().get(0).get("user").asString());
    assertEquals("inner", root.get("authorization").get("other").asString());
  }

  @Test
  void variableHoldingAMapOrArray() {
    ConfigValue root = ok("PERMS = { publish: [\"a.>\"] }\nperms: $PERMS\n");
    assertEquals("a.>", root.get("perms").get("publish").asList().get(0).asString());
  }

  @Test
  void variableFromInjectedEnvironmentIsParsedAsAValue() {
    ConfigValue root = ok("port: $LG_PORT\nname: $LG_NAME\nsize: $LG_SIZE\n"
        + "list: $LG_LIST\nspaced: $LG_SPACED\n");
    assertEquals(Kind.INTEGER, root.get("port").kind());
    assertEquals(4333, root.get("port").asLong());
    assertEquals("edge-7", root.get("name").asString());
    assertEquals(2L * 1024 * 1024, root.get("size").asLong());
    assertEquals(2, root.get("list").asList().size());
    assertEquals("two words", root.get("spaced").asString(), "not one value: taken literally");
    assertEquals(5, root.get("spaced").line());
  }

  @Test
  void variableFromTheRealProcessEnvironment() {
    String path = System.getenv("PATH");
    assertNotNull(path, "PATH is set in every test environment");
    ConfigParser.Result r = new ConfigParser().parse("p = $PATH\n", FILE);
    assertEquals(List.of(), r.errors());
    assertEquals(path, r.root().get("p").raw());
  }

  @Test
  void keyBeatsEnvironment() {
    ConfigValue root = ok("LG_PORT = 1\nport = $LG_PORT\n");
    assertEquals(1, root.get("port").asLong());
  }

  @Test
  void laterKeyIsNotVisible() {
    assertEquals(List.of("test.conf:1: variable \"$LATER\" is not defined: no earlier key in this"
            + " or an enclosing block, and no environment variable, has that name"),
        errors("a = $LATER\nLATER = 1\n"));
  }

  @Test
  void siblingBlockIsNotVisible() {
    List<String> errs = errors("a { X = 1 }\nb { y = $X }\n");
    assertEquals(1, errs.size());
    assertTrue(errs.get(0).startsWith("test.conf:2: variable \"$X\" is not defined"), errs.get(0));
  }

  @Test
  void environmentCycleAndDanglingReferenceAreErrors() {
    List<String> errs = errors("a = $LG_LOOP_A\nb = $LG_MISSING_REF\n");
    assertEquals(2, errs.size(), errs.toString());
    assertTrue(errs.get(0).startsWith("test.conf:1: environment variable \"LG_LOOP_A\" cannot be"
        + " used: environment variable \"LG_LOOP_B\" cannot be used: variable reference cycle"),
        errs.get(0));
    assertTrue(errs.get(1).startsWith("test.conf:2: environment variable \"LG_MISSING_REF\""
        + " cannot be used: variable \"$LG_NOT_SET\" is not defined"), errs.get(1));
  }

  @Test
  void bcryptHashIsNotAVariable() {
    String hash = "$2a$11$W2zko751KUvVy59mUTWmpOdWjpEm5qhcCZRd05GjI/sSOT.xtiHyG";
    ConfigValue root = ok("password: " + hash + "\n");
    assertEquals(hash, root.get("password").asString());
  }

  // ---- includes ----------------------------------------------------------------------------

  @Test
  void includeIsRelativeToTheIncludingFileAndMergesIntoItsBlock(@TempDir Path dir)
      throws IOException {
    Path sub = Files.createDirectories(dir.resolve("conf.d"));
    Path main = dir.resolve("main.conf");
    Files.writeString(main, """
        port = 4222
        include 'conf.d/auth.conf'
        mqtt {
          include "mqtt.conf"
        }
        include conf.d/last.conf
        """);
    Files.writeString(sub.resolve("auth.conf"), "authorization {\n  token: s3cret\n}\n");
    Files.writeString(dir.resolve("mqtt.conf"), "# mqtt\nport: 1884\n");
    Files.writeString(sub.resolve("last.conf"), "port = 5000\n");

    ConfigParser.Result r = new ConfigParser(ENV::get).parse(main);
    assertEquals(List.of(), r.errors());
    ConfigValue token = r.root().get("authorization").get("token");
    assertEquals("s3cret", token.asString());
    assertEquals(sub.resolve("auth.conf"), token.file());
    assertEquals(2, token.line());
    ConfigValue mqttPort = r.root().get("mqtt").get("port");
    assertEquals(1884, mqttPort.asLong());
    assertEquals(dir.resolve("mqtt.conf"), mqttPort.file());
    assertEquals(5000, r.root().get("port").asLong(), "a later include overrides, last wins");
  }

  @Test
  void includedKeysCanBeUsedAsVariablesAfterTheInclude(@TempDir Path dir) throws IOException {
    Files.writeString(dir.resolve("vars.conf"), "HUB_PORT = 7422\n");
    Path main = dir.resolve("main.conf");
    Files.writeString(main, "include vars.conf\nport = $HUB_PORT\n");
    ConfigParser.Result r = new ConfigParser(ENV::get).parse(main);
    assertEquals(List.of(), r.errors());
    assertEquals(7422, r.root().get("port").asLong());
  }

  @Test
  void includeErrorsNameTheIncludedFile(@TempDir Path dir) throws IOException {
    Path bad = dir.resolve("bad.conf");
    Files.writeString(bad, "ok = 1\nbroken = \n");
    Path main = dir.resolve("main.conf");
    Files.writeString(main, "include bad.conf\ninclude missing.conf\n");
    List<String> errs = new ConfigParser(ENV::get).parse(main).errors().stream()
        .map(ConfigError::toString).collect(Collectors.toList());
    assertEquals(List.of(bad + ":2: missing value for \"broken\"",
        main + ":2: cannot read included file \"missing.conf\": no such file"), errs);
  }

  @Test
  void includeCycleIsReported(@TempDir Path dir) throws IOException {
    Path a = dir.resolve("a.conf");
    Path b = dir.resolve("b.conf");
    Files.writeString(a, "x = 1\ninclude b.conf\n");
    Files.writeString(b, "include a.conf\n");
    List<ConfigError> errs = new ConfigParser(ENV::get).parse(a).errors();
    assertEquals(1, errs.size(), errs.toString());
    assertEquals(b, errs.get(0).file());
    assertEquals(1, errs.get(0).line());
    assertTrue(errs.get(0).message().startsWith("include cycle: "), errs.get(0).message());
  }

  @Test
  void unreadableMainFileIsOneErrorOnLineZero(@TempDir Path dir) {
    Path missing = dir.resolve("nope.conf");
    ConfigParser.Result r = new ConfigParser().parse(missing);
    assertEquals(List.of(new ConfigError(missing, 0, "cannot read config file: no such file")),
        r.errors());
    assertTrue(r.root().asMap().isEmpty());
  }

  // ---- syntax errors and recovery ----------------------------------------------------------

  @Test
  void syntaxErrorsAreAllReportedWithTheirLines() {
    List<String> errs = errors("""
        a = 1
        b =
        c = "unterminated
        d = 4 5
        = 6
        e = [1,, 2]
        f = (
          block
        )
        g = "bad \\q escape"
        h = $
        i = 9
        }
        j {
          k = 1
        """);
    assertEquals(List.of(
        "test.conf:2: missing value for \"b\"",
        "test.conf:3: the string starting on this line is never closed (missing '\"')",
        "test.conf:4: expected a new line after the value of \"d\", found '5'",
        "test.conf:5: expected a key, found '='",
        "test.conf:6: unexpected ',' in array: there is no item before it",
        "test.conf:7: block strings in ( ) are not supported, use a quoted string",
        "test.conf:10: invalid escape '\\q' in string: only \\t \\n \\r \\\" \\\\ and \\xHH are"
            + " allowed",
        "test.conf:11: '$' must be followed by a variable name",
        "test.conf:13: unexpected '}' with no block to close",
        "test.conf:14: the block opened on this line is never closed (missing '}')"), errs);
    // Recovery kept the good entries around the bad ones.
    ConfigValue root = parse("a = 1\nb =\nc = 3\n").root();
    assertEquals(1, root.get("a").asLong());
    assertNull(root.get("b"));
    assertEquals(3, root.get("c").asLong());
  }

  @Test
  void recoveryKeepsParsingAfterAnUnterminatedStringAndArray() {
    ConfigParser.Result r = parse("a = 'oops\nb = 2\nc = [1, 2\nd { e = [3 }\nf = 6\n");
    List<String> errs = r.errors().stream().map(ConfigError::toString)
        .collect(Collectors.toList());
    assertEquals(List.of(
        "test.conf:1: the string starting on this line is never closed (missing ''')",
        "test.conf:3: the array opened on this line is never closed (missing ']')",
        "test.conf:4: the array opened on this line is never closed (missing ']')"), errs);
    assertEquals(2, r.root().get("b").asLong());
    assertEquals(2, r.root().get("c").asList().size());
    assertEquals(1, r.root().get("d").get("e").asList().size());
    assertEquals(6, r.root().get("f").asLong());
  }

  @Test
  void missingValueBeforeClosingBrace() {
    assertEquals(List.of("test.conf:1: missing value for \"b\", found '}'"),
        errors("a { b }\n"));
  }

  @Test
  void describeNamesKindAndText() {
    ConfigValue root = ok("s = x\ni = 1KB\nf = 0.5\nb = on\nm {}\na []\n");
    assertEquals("string \"x\"", root.get("s").describe());
    assertEquals("integer 1KB", root.get("i").describe());
    assertEquals("float 0.5", root.get("f").describe());
    assertEquals("boolean on", root.get("b").describe());
    assertEquals("a map", root.get("m").describe());
    assertEquals("an array", root.get("a").describe());
    assertEquals("test.conf:2", root.get("i").where());
  }
}
