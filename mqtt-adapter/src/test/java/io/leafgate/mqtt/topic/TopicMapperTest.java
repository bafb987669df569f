package io.leafgate.mqtt.topic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.leafgate.mqtt.topic.TopicMapper.Problem;
import io.leafgate.mqtt.topic.TopicMapper.TopicException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The topic ↔ subject contract: every row of edge-anchors §1.3, nats-server's own table
 * ({@code TestMQTTTopicAndSubjectConversion}, {@code TestMQTTFilterConversion}) and the escaping of
 * subjects MQTT cannot express.
 */
class TopicMapperTest {

  /** Topic names: MQTT, NATS; each must also map back to the same topic. */
  static Stream<Arguments> topics() {
    return Stream.of(
        // §1.3 row 1: '/' between two non-empty levels
        Arguments.of("sensors/cold-1/temp", "sensors.cold-1.temp"),
        // §1.3 row 2: empty levels become the token '/'
        Arguments.of("/foo", "/.foo"),
        Arguments.of("foo/", "foo./"),
        Arguments.of("foo//bar", "foo./.bar"),
        Arguments.of("//foo", "/./.foo"),
        Arguments.of("/", "/./"),
        Arguments.of("///", "/./././"),
        // §1.3 row 3: '.' inside a level becomes '//' (nats-server 2.10)
        Arguments.of("spBv1.0/plant1", "spBv1//0.plant1"),
        Arguments.of(".", "//"),
        Arguments.of("foo.", "foo//"),
        Arguments.of("foo.bar", "foo//bar"),
        Arguments.of("a..b/c", "a////b.c"),
        // §1.3 row 9: literal '*' and '>' are not escaped
        Arguments.of("foo*/bar", "foo*.bar"),
        Arguments.of("foo/*/bar", "foo.*.bar"),
        Arguments.of("foo/>", "foo.>"),
        // nats-server TestMQTTTopicAndSubjectConversion
        Arguments.of("//", "/././"),
        Arguments.of("////", "/././././"),
        Arguments.of("foo", "foo"),
        Arguments.of("///foo", "/././.foo"),
        Arguments.of("///foo/", "/././.foo./"),
        Arguments.of("///foo//", "/././.foo././"),
        Arguments.of("///foo///", "/././.foo./././"),
        Arguments.of("foo/bar", "foo.bar"),
        Arguments.of("/foo/bar", "/.foo.bar"),
        Arguments.of("/foo/bar/", "/.foo.bar./"),
        Arguments.of("foo/bar/baz", "foo.bar.baz"),
        Arguments.of("/foo/bar/baz", "/.foo.bar.baz"),
        Arguments.of("/foo/bar/baz/", "/.foo.bar.baz./"),
        Arguments.of("bar/", "bar./"),
        Arguments.of("bar//", "bar././"),
        Arguments.of("bar///", "bar./././"),
        Arguments.of("foo///bar", "foo././.bar"),
        Arguments.of("foo////bar", "foo./././.bar"),
        // Non-ASCII: the subject carries the UTF-8 bytes
        Arguments.of("température/salle-1", "temp\u00c3\u00a9rature.salle-1"));
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @MethodSource("topics")
  void topicMapsToSubjectAndBack(String topic, String subject) throws TopicException {
    assertEquals(subject, TopicMapper.toSubject(topic));
    assertEquals(topic, TopicMapper.toTopic(subject));
  }

  /** Filters: MQTT, then the NATS subscriptions it needs. */
  static Stream<Arguments> filters() {
    return Stream.of(
        // §1.3 row 4: '+' becomes '*'
        Arguments.of("foo/+/bar", List.of("foo.*.bar")),
        Arguments.of("+/", List.of("*./")),
        // §1.3 row 5: '#' becomes '>' plus the parent level; '#' alone is '>' only
        Arguments.of("foo/#", List.of("foo", "foo.>")),
        Arguments.of("#", List.of(">")),
        Arguments.of("a/#", List.of("a", "a.>")),
        // nats-server TestMQTTFilterConversion (the '#' rows gain the parent subscription)
        Arguments.of("+", List.of("*")),
        Arguments.of("/+", List.of("/.*")),
        Arguments.of("/+/", List.of("/.*./")),
        Arguments.of("foo/+", List.of("foo.*")),
        Arguments.of("foo/+/", List.of("foo.*./")),
        Arguments.of("foo/+/+", List.of("foo.*.*")),
        Arguments.of("foo/+/+/", List.of("foo.*.*./")),
        Arguments.of("foo/+/+/bar", List.of("foo.*.*.bar")),
        Arguments.of("foo//+", List.of("foo./.*")),
        Arguments.of("foo//+/", List.of("foo./.*./")),
        Arguments.of("foo//+//", List.of("foo./.*././")),
        Arguments.of("foo//+//bar", List.of("foo./.*./.bar")),
        Arguments.of("foo///+///bar", List.of("foo././.*././.bar")),
        Arguments.of("/#", List.of("/", "/.>")),
        Arguments.of("/foo/#", List.of("/.foo", "/.foo.>")),
        Arguments.of("foo//#", List.of("foo./", "foo./.>")),
        Arguments.of("foo///#", List.of("foo././", "foo././.>")),
        Arguments.of("foo/bar/#", List.of("foo.bar", "foo.bar.>")),
        Arguments.of("+/#", List.of("*", "*.>")),
        Arguments.of("spBv1.0/+/#", List.of("spBv1//0.*", "spBv1//0.*.>")),
        Arguments.of("plain/topic", List.of("plain.topic")));
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @MethodSource("filters")
  void filterMapsToSubscriptions(String filter, List<String> subjects) throws TopicException {
    assertEquals(subjects, TopicMapper.toFilterSubjects(filter));
  }

  /** Refused topic names (publish) with the problem reported. */
  static Stream<Arguments> badTopics() {
    return Stream.of(
        // §1.3 row 6: whitespace and DEL
        Arguments.of("foo bar", Problem.UNSUPPORTED_CHARACTERS),
        Arguments.of("foo\tbar", Problem.UNSUPPORTED_CHARACTERS),
        Arguments.of("foo\nbar", Problem.UNSUPPORTED_CHARACTERS),
        Arguments.of("foo\rbar", Problem.UNSUPPORTED_CHARACTERS),
        Arguments.of("foo\fbar", Problem.UNSUPPORTED_CHARACTERS),
        Arguments.of("foo\u007fbar", Problem.UNSUPPORTED_CHARACTERS),
        Arguments.of("foo\u0000bar", Problem.UNSUPPORTED_CHARACTERS),
        // §1.3 row 7: wildcards in a PUBLISH topic
        Arguments.of("foo/+", Problem.WILDCARD_IN_TOPIC),
        Arguments.of("foo/#", Problem.WILDCARD_IN_TOPIC),
        Arguments.of("foo+", Problem.WILDCARD_IN_TOPIC),
        // §1.3 row 8: empty
        Arguments.of("", Problem.EMPTY),
        // §1.3 row 10: the internal namespace
        Arguments.of("$MQTT/sess/x", Problem.RESERVED),
        Arguments.of("$MQTT", Problem.RESERVED));
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @MethodSource("badTopics")
  void refusesTopic(String topic, Problem problem) {
    TopicException e = assertThrows(TopicException.class, () -> TopicMapper.toSubject(topic));
    assertEquals(problem, e.problem());
  }

  static Stream<Arguments> badFilters() {
    return Stream.of(
        Arguments.of("", Problem.EMPTY),
        Arguments.of("foo bar/#", Problem.UNSUPPORTED_CHARACTERS),
        Arguments.of("foo/#/bar", Problem.INVALID_FILTER),
        Arguments.of("foo+/bar", Problem.INVALID_FILTER),
        Arguments.of("foo/bar#", Problem.INVALID_FILTER),
        Arguments.of("$MQTT/#", Problem.RESERVED),
        Arguments.of("$MQTT/+/x", Problem.RESERVED));
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @MethodSource("badFilters")
  void refusesFilter(String filter, Problem problem) {
    TopicException e = assertThrows(TopicException.class, () -> TopicMapper.toFilterSubjects(filter));
    assertEquals(problem, e.problem());
  }

  /** NATS subjects MQTT cannot express: the offending token is percent-encoded, nothing is lost. */
  static Stream<Arguments> escapedSubjects() {
    return Stream.of(
        Arguments.of("a/b", "a%2Fb"),
        Arguments.of("site.a/b.c", "site/a%2Fb/c"),
        Arguments.of("site./a.c", "site/%2Fa/c"),
        Arguments.of("site.a/.c", "site/a%2F/c"),
        Arguments.of("x.a///b", "x/a%2F%2F%2Fb"),
        Arguments.of("x.50%/b", "x/50%25%2Fb"),
        Arguments.of("x.50%", "x/50%"),
        Arguments.of("a.+.b", "a/%2B/b"),
        Arguments.of("a.#", "a/%23"),
        Arguments.of("a.b\u0000c", "a/b%00c"),
        Arguments.of("a.\u00ff\u00fe", "a/%FF%FE"),
        Arguments.of("a.\u00c3\u00a9/x", "a/\u00e9%2Fx"));
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @MethodSource("escapedSubjects")
  void escapesWhatMqttCannotExpress(String subject, String topic) {
    assertEquals(topic, TopicMapper.toTopic(subject));
  }

  @Test
  void escapingIsLosslessForBareSlashes() {
    // Decode the escaped token and get the original bytes back.
    String subject = "site.a/b%c.d";
    String topic = TopicMapper.toTopic(subject);
    assertEquals("site/a%2Fb%25c/d", topic);
    String level = topic.split("/")[1];
    assertEquals("a/b%c", java.net.URLDecoder.decode(level, StandardCharsets.ISO_8859_1));
  }

  @Test
  void parsesSharedSubscriptions() throws TopicException {
    assertEquals(new TopicMapper.SharedFilter("g1", "sensors/#"), TopicMapper.parseShared("$share/g1/sensors/#"));
    assertEquals(new TopicMapper.SharedFilter("g", "/a"), TopicMapper.parseShared("$share/g//a"));
    assertNull(TopicMapper.parseShared("sensors/#"));
    assertNull(TopicMapper.parseShared("$shared/x/y"));
    for (String bad : List.of("$share/", "$share/g", "$share/g/", "$share//x", "$share/g+/x", "$share/g#/x")) {
      TopicException e = assertThrows(TopicException.class, () -> TopicMapper.parseShared(bad), bad);
      assertEquals(Problem.INVALID_FILTER, e.problem());
    }
  }
}
