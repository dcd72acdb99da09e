<?php
/**
 * The settings sanitizer: allow-lists, the secret never lost when the field is left empty.
 *
 * @package edgebot
 */

use PHPUnit\Framework\TestCase;

/**
 * Options tests.
 */
final class OptionsTest extends TestCase {

	protected function setUp(): void {
		$GLOBALS['edgebot_test_options'] = array();
	}

	public function test_good_values_are_kept(): void {
		$clean = edgebot_sanitize_options(
			array(
				'url'      => 'http://127.0.0.1:8710/',
				'secret'   => ' s3cret ',
				'title'    => 'Help <b>desk</b>',
				'accent'   => '#1f7a4d',
				'position' => 'left',
				'pages'    => 'only',
				'page_ids' => '12, 7, x, -3',
				'guests'   => '1',
			)
		);
		$this->assertSame( 'http://127.0.0.1:8710', $clean['url'] );
		$this->assertSame( 's3cret', $clean['secret'] );
		$this->assertSame( 'Help desk', $clean['title'] );
		$this->assertSame( '#1f7a4d', $clean['accent'] );
		$this->assertSame( array( 'left', 'only', '12,7,3', 1 ), array( $clean['position'], $clean['pages'], $clean['page_ids'], $clean['guests'] ) );
	}

	public function test_bad_values_fall_back_to_safe_defaults(): void {
		$clean = edgebot_sanitize_options(
			array(
				'url'      => 'javascript:alert(1)',
				'accent'   => 'red; background: url(x)',
				'position' => 'center',
				'pages'    => 'some',
			)
		);
		$this->assertSame( 'http://127.0.0.1:8710', $clean['url'] );
		$this->assertSame( '#2456d6', $clean['accent'] );
		$this->assertSame( array( 'right', 'all', 0 ), array( $clean['position'], $clean['pages'], $clean['guests'] ) );
		$this->assertSame( array(), array_diff_key( edgebot_option_defaults(), $clean ) );
	}

	public function test_an_empty_secret_field_keeps_the_saved_secret(): void {
		$GLOBALS['edgebot_test_options']['edgebot_options'] = array( 'secret' => 'saved-secret' );
		$this->assertSame( 'saved-secret', edgebot_sanitize_options( array( 'secret' => '' ) )['secret'] );
		$this->assertSame( 'new-secret', edgebot_sanitize_options( array( 'secret' => 'new-secret' ) )['secret'] );
		$this->assertSame( 'saved-secret', edgebot_option( 'secret' ) );
	}
}
