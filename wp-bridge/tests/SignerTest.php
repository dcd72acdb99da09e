<?php
/**
 * Edgebot_Signer: the same signatures as edgebot's Python side (vectors computed with
 * edgebot.bridge.canonical / hmac), and refusals.
 *
 * @package edgebot
 */

use PHPUnit\Framework\TestCase;

/**
 * Signing tests.
 */
final class SignerTest extends TestCase {

	private const USER = array(
		'id'    => 7,
		'name'  => 'Ann',
		'roles' => array( 'customer' ),
	);

	public function test_user_claim_is_base64url_json(): void {
		$this->assertSame( 'eyJpZCI6NywibmFtZSI6IkFubiIsInJvbGVzIjpbImN1c3RvbWVyIl19', Edgebot_Signer::user_claim( self::USER ) );
		$this->assertSame( '', Edgebot_Signer::user_claim( null ) );
		$this->assertSame( '', Edgebot_Signer::user_claim( array( 'id' => 0 ) ) );
	}

	public function test_signature_matches_the_python_side(): void {
		$signer  = new Edgebot_Signer( 's3cret' );
		$headers = $signer->headers( 'post', '/v1/sessions?x=1', '{"text":"hi"}', self::USER, '203.0.113.9', 1800000000, 'abcdefghijklmnop' );
		$this->assertSame( '25ee374699f75e45ae8e838d4e0f7496d8d4785f42b37c343be954549f73c03b', $headers['X-Edgebot-Signature'] );
		$this->assertSame( '1800000000', $headers['X-Edgebot-Timestamp'] );
		$this->assertSame( '203.0.113.9', $headers['X-Edgebot-Visitor-IP'] );
	}

	public function test_random_nonces_are_url_safe_and_unique(): void {
		$signer = new Edgebot_Signer( 's3cret' );
		$a      = $signer->headers( 'GET', '/x' )['X-Edgebot-Nonce'];
		$b      = $signer->headers( 'GET', '/x' )['X-Edgebot-Nonce'];
		$this->assertMatchesRegularExpression( '/^[A-Za-z0-9_-]{16,64}$/', $a );
		$this->assertNotSame( $a, $b );
	}

	/**
	 * @return array<string, array{0: callable, 1: string}>
	 */
	public static function tampered(): array {
		return array(
			'forged'    => array( static fn( array $h ): array => array( 'x-edgebot-signature' => str_repeat( '0', 64 ) ) + $h, 'bad_signature' ),
			'other-ip'  => array( static fn( array $h ): array => array( 'x-edgebot-visitor-ip' => '198.51.100.1' ) + $h, 'bad_signature' ),
			'unsigned'  => array( static fn( array $h ): array => array_diff_key( $h, array( 'x-edgebot-signature' => 1 ) ), 'missing_signature' ),
		);
	}

	/**
	 * @dataProvider tampered
	 */
	public function test_check_refuses_tampering( callable $change, string $reason ): void {
		$signer  = new Edgebot_Signer( 's3cret' );
		$headers = array_change_key_case( $signer->headers( 'GET', '/wp-json/edgebot/v1/orders?order_id=12', '', null, '', 1800000000 ) );
		$this->assertSame( '', $signer->check( 'GET', '/wp-json/edgebot/v1/orders?order_id=12', $headers, '', 300, 1800000000 ) );
		$this->assertSame( $reason, $signer->check( 'GET', '/wp-json/edgebot/v1/orders?order_id=12', $change( $headers ), '', 300, 1800000000 ) );
	}

	public function test_check_refuses_an_old_request(): void {
		$signer  = new Edgebot_Signer( 's3cret' );
		$headers = array_change_key_case( $signer->headers( 'GET', '/o', '', null, '', 1800000000 ) );
		$this->assertSame( 'clock_skew', $signer->check( 'GET', '/o', $headers, '', 300, 1800000301 ) );
	}
}
