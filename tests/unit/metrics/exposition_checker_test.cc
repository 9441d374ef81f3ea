// The strict checker that the metrics tests rely on must itself reject what
// the format forbids; otherwise a passing metrics test proves nothing.
#include "support/exposition_checker.h"

#include <gtest/gtest.h>

#include <string>

namespace zkelect::test {
namespace {

TEST(ExpositionCheckerTest, AcceptsAValidScrape) {
  const ExpositionCheck check = CheckExposition(
      "# HELP up_total Ups.\n"
      "# TYPE up_total counter\n"
      "up_total{path=\"/a\\\\b\\\"c\\n\"} 3\n"
      "# TYPE lat histogram\n"
      "lat_bucket{le=\"0.1\"} 1\n"
      "lat_bucket{le=\"+Inf\"} 2\n"
      "lat_sum 0.25\n"
      "lat_count 2\n"
      "# TYPE g gauge\n"
      "g NaN\n");
  EXPECT_TRUE(check.errors.empty()) << testing::PrintToString(check.errors);
  ASSERT_NE(check.Find("up_total", {{"path", "/a\\b\"c\n"}}), nullptr);
  EXPECT_EQ(check.Find("lat_count")->value, 2);
}

struct BadScrape {
  const char* name;
  const char* text;
};

class ExpositionCheckerRejects : public testing::TestWithParam<BadScrape> {};

TEST_P(ExpositionCheckerRejects, Scrape) {
  EXPECT_FALSE(CheckExposition(GetParam().text).errors.empty()) << GetParam().text;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ExpositionCheckerRejects,
    testing::Values(BadScrape{"NoFinalNewline", "# TYPE g gauge\ng 1"},
                    BadScrape{"BlankLine", "# TYPE g gauge\n\ng 1\n"},
                    BadScrape{"OtherComment", "# hello\n# TYPE g gauge\ng 1\n"},
                    BadScrape{"SampleBeforeType", "g 1\n# TYPE g gauge\n"},
                    BadScrape{"TypeTwice", "# TYPE g gauge\n# TYPE g gauge\ng 1\n"},
                    BadScrape{"UnknownType", "# TYPE g meter\ng 1\n"},
                    BadScrape{"CounterWithoutTotal", "# TYPE c counter\nc 1\n"},
                    BadScrape{"BadMetricName", "# TYPE 1g gauge\n1g 1\n"},
                    BadScrape{"BadLabelName", "# TYPE g gauge\ng{a-b=\"1\"} 1\n"},
                    BadScrape{"ReservedLabelName", "# TYPE g gauge\ng{__a=\"1\"} 1\n"},
                    BadScrape{"UnquotedLabel", "# TYPE g gauge\ng{a=1} 1\n"},
                    BadScrape{"BadEscape", "# TYPE g gauge\ng{a=\"\\t\"} 1\n"},
                    BadScrape{"LabelTwice", "# TYPE g gauge\ng{a=\"1\",a=\"2\"} 1\n"},
                    BadScrape{"BadValue", "# TYPE g gauge\ng one\n"},
                    BadScrape{"LowercaseInf", "# TYPE g gauge\ng inf\n"},
                    BadScrape{"SeriesTwice", "# TYPE g gauge\ng 1\ng 2\n"},
                    BadScrape{"NotContiguous", "# TYPE g gauge\n# TYPE h gauge\nh 1\ng 1\n"},
                    BadScrape{"HistogramWithoutInf",
                              "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n"},
                    BadScrape{"HistogramNotCumulative",
                              "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n"
                              "h_sum 1\nh_count 1\n"},
                    BadScrape{"HistogramCountMismatch",
                              "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 1\n"},
                    BadScrape{"HistogramWithoutSum",
                              "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n"}),
    [](const testing::TestParamInfo<BadScrape>& param_info) {
      return std::string(param_info.param.name);
    });

}  // namespace
}  // namespace zkelect::test
